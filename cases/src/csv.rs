//! Bulk import of earlier records: one CSV row per case (RFC 4180: commas, double quotes,
//! CRLF or LF), first row the header. The columns are the JSON field names of
//! [`crate::model::Notification`] (see [`COLUMNS`]) plus an optional `status`; the health
//! center is the importing one. Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`),
//! `symptomsAtDiagnosis` is a `;`-separated list, empty cells are absent values.

use serde::Serialize;

use crate::model::{CaseStatus, Notification};

/// Accepted columns and their types.
pub const COLUMNS: &[(&str, ColumnType)] = &[
    ("name", ColumnType::Text),
    ("kana", ColumnType::Text),
    ("sex", ColumnType::Text),
    ("dateOfBirth", ColumnType::Text),
    ("age", ColumnType::Number),
    ("address", ColumnType::Text),
    ("phone", ColumnType::Text),
    ("email", ColumnType::Text),
    ("workplace", ColumnType::Text),
    ("nationality", ColumnType::Text),
    ("vulnerableHousehold", ColumnType::Bool),
    ("municipality", ColumnType::Text),
    ("reportingDoctor", ColumnType::Text),
    ("resultDate", ColumnType::Text),
    ("testResult", ColumnType::Text),
    ("administrativeTest", ColumnType::Bool),
    ("samplingDate", ColumnType::Text),
    ("testMethod", ColumnType::Text),
    ("diagnosisDate", ColumnType::Text),
    ("onsetDate", ColumnType::Text),
    ("admitted", ColumnType::Bool),
    ("hospital", ColumnType::Text),
    ("icu", ColumnType::Bool),
    ("ventilator", ColumnType::Bool),
    ("ecmo", ColumnType::Bool),
    ("outcome", ColumnType::Text),
    ("underlyingConditions", ColumnType::Text),
    ("linkedToOtherCase", ColumnType::Bool),
    ("estimatedPlaceOfInfection", ColumnType::Text),
    ("reportDate", ColumnType::Text),
    ("postMortem", ColumnType::Bool),
    ("symptomsAtDiagnosis", ColumnType::List),
    ("diagnosisMethod", ColumnType::Text),
    ("specimenType", ColumnType::Text),
    ("infectionRoute", ColumnType::Text),
    ("infectionArea", ColumnType::Text),
    ("infectionConfirmed", ColumnType::Bool),
    ("status", ColumnType::Text),
];

/// How a cell is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text.
    Text,
    /// A non-negative integer.
    Number,
    /// A boolean.
    Bool,
    /// `;`-separated text values.
    List,
}

/// One problem in an import, by row (1 = header) and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line of the record in the file (the header is row 1).
    pub row: usize,
    /// Column name (or empty for the whole row).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// Splits CSV text into records of fields.
pub fn parse_records(text: &str) -> Result<Vec<Vec<String>>, RowError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut row = 1;
    let mut field_started = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    row += 1;
                    field.push(c);
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                in_quotes = true;
                field_started = true;
            }
            '"' => {
                return Err(RowError {
                    row,
                    column: String::new(),
                    message: "quote inside an unquoted field".into(),
                });
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
                row += 1;
            }
            c => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if in_quotes {
        return Err(RowError {
            row,
            column: String::new(),
            message: "unterminated quoted field".into(),
        });
    }
    if field_started || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Parses an import file into notifications (with the importing health center) and their
/// initial status, or every problem found. Dates and required values are checked by the
/// caller through [`Notification::validate`].
pub fn parse_import(
    text: &str,
    health_center_id: &str,
    max_rows: usize,
) -> Result<Vec<(usize, Notification, CaseStatus)>, Vec<RowError>> {
    let records = parse_records(text).map_err(|e| vec![e])?;
    let Some((header, rows)) = records.split_first() else {
        return Err(vec![RowError {
            row: 1,
            column: String::new(),
            message: "empty file; the first row must be the header".into(),
        }]);
    };
    let mut errors = Vec::new();
    let mut types = Vec::with_capacity(header.len());
    for name in header {
        match COLUMNS.iter().find(|(column, _)| column == name) {
            Some((_, ty)) => types.push(*ty),
            None => {
                errors.push(RowError {
                    row: 1,
                    column: name.clone(),
                    message: "unknown column".into(),
                });
                types.push(ColumnType::Text);
            }
        }
    }
    if rows.len() > max_rows {
        errors.push(RowError {
            row: 1,
            column: String::new(),
            message: format!("more than {max_rows} rows; split the file"),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::with_capacity(rows.len());
    for (index, record) in rows.iter().enumerate() {
        let row = index + 2;
        if record.len() != header.len() {
            errors.push(RowError {
                row,
                column: String::new(),
                message: format!("{} fields, header has {}", record.len(), header.len()),
            });
            continue;
        }
        let mut object = serde_json::Map::new();
        object.insert("healthCenterId".into(), health_center_id.into());
        let mut status = CaseStatus::Accepted;
        let mut row_ok = true;
        for ((name, ty), cell) in header.iter().zip(&types).zip(record) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            if name == "status" {
                match CaseStatus::parse(cell) {
                    Some(s) if s != CaseStatus::Reported => status = s,
                    _ => {
                        errors.push(RowError {
                            row,
                            column: name.clone(),
                            message: "unknown or unsupported status".into(),
                        });
                        row_ok = false;
                    }
                }
                continue;
            }
            let value = match ty {
                ColumnType::Text => Some(serde_json::Value::from(cell)),
                ColumnType::Number => cell.parse::<u32>().ok().map(serde_json::Value::from),
                ColumnType::Bool => match cell.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => Some(true.into()),
                    "false" | "0" | "no" => Some(false.into()),
                    _ => None,
                },
                ColumnType::List => Some(
                    cell.split(';')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .into(),
                ),
            };
            match value {
                Some(value) => {
                    object.insert(name.clone(), value);
                }
                None => {
                    errors.push(RowError {
                        row,
                        column: name.clone(),
                        message: format!("not a valid {ty:?}").to_lowercase(),
                    });
                    row_ok = false;
                }
            }
        }
        if !object.contains_key("onsetDate") {
            object.insert("onsetDate".into(), serde_json::Value::Null);
        }
        if !row_ok {
            continue;
        }
        match serde_json::from_value::<Notification>(serde_json::Value::Object(object)) {
            Ok(notification) => out.push((row, notification, status)),
            Err(e) => errors.push(RowError {
                row,
                column: String::new(),
                message: format!("{e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_quotes_and_crlf() {
        let records = parse_records("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\n3,\n").unwrap();
        assert_eq!(
            records,
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x,1".into(), "say \"hi\"".into()],
                vec!["3".into(), "".into()],
            ]
        );
        assert!(parse_records("a,\"b\n").is_err());
    }

    #[test]
    fn import_reports_every_row() {
        let text = "name,age,vulnerableHousehold\nA,x,maybe\n";
        let errors = parse_import(text, "hc", 10).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.row == 2));
        let errors = parse_import("nope\n1\n", "hc", 10).unwrap_err();
        assert_eq!(errors[0].column, "nope");
    }
}
