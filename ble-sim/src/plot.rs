//! Small standalone SVG charts (line charts and scatter plots) for the simulator's reports,
//! written by hand so the crate needs no plotting dependency.

use std::fmt::Write as _;

/// A named series of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// A line chart (ROC, detection rate curves); returns a complete standalone SVG document.
pub fn line_chart_svg(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    chart(title, x_label, y_label, series, false)
}

/// A scatter plot (attenuation against distance).
pub fn scatter_svg(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    chart(title, x_label, y_label, series, true)
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A "nice" tick step covering `span` with about `target` ticks.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual < 1.5 {
        1.0
    } else if residual < 3.0 {
        2.0
    } else if residual < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Axis range padded to nice ticks; a degenerate range is widened.
fn axis_range(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let step = nice_step(hi - lo, 6.0);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn fmt_tick(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    if s == "-0" { "0".into() } else { s }
}

fn chart(title: &str, x_label: &str, y_label: &str, series: &[Series], scatter: bool) -> String {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1, xs) = axis_range(all().map(|p| p.0));
    let (y0, y1, ys) = axis_range(all().map(|p| p.1));
    let pw = WIDTH - LEFT - RIGHT;
    let ph = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let py = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;

    let mut svg = String::new();
    // Writing into a String cannot fail; results are ignored below.
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16">{}</text>
"#,
        LEFT + pw / 2.0,
        esc(title)
    );
    // Grid and ticks.
    let mut x = x0;
    while x <= x1 + xs * 1e-9 {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#ddd"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"##,
            px(x),
            TOP,
            TOP + ph,
            TOP + ph + 16.0,
            fmt_tick(x, xs)
        );
        x += xs;
    }
    let mut y = y0;
    while y <= y1 + ys * 1e-9 {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{3:.1}" y="{4:.1}" text-anchor="end">{5}</text>"##,
            LEFT,
            py(y),
            LEFT + pw,
            LEFT - 6.0,
            py(y) + 4.0,
            fmt_tick(y, ys)
        );
        y += ys;
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>
<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"#,
        LEFT + pw / 2.0,
        HEIGHT - 16.0,
        esc(x_label),
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        esc(y_label)
    );
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let finite = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        if scatter {
            let _ = writeln!(svg, r#"<g fill="{color}" fill-opacity="0.5">"#);
            for &(x, y) in finite {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2"/>"#,
                    px(x),
                    py(y)
                );
            }
            svg.push_str("</g>\n");
        } else {
            let path: Vec<String> = finite
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
        }
        let ly = TOP + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + pw + 12.0,
            ly,
            LEFT + pw + 30.0,
            ly + 10.0,
            esc(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![
            Series {
                name: "cwa <&>".into(),
                points: vec![(0.0, 0.0), (0.3, 0.7), (1.0, 1.0)],
            },
            Series {
                name: "chance".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0), (f64::NAN, 2.0)],
            },
        ]
    }

    #[test]
    fn line_chart_is_a_complete_svg() {
        let svg = line_chart_svg("ROC", "FPR", "TPR", &series());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("cwa &lt;&amp;&gt;"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn scatter_has_one_circle_per_finite_point() {
        let svg = scatter_svg("att", "d", "dB", &series());
        assert_eq!(svg.matches("<circle").count(), 5);
    }

    #[test]
    fn empty_and_flat_inputs_do_not_break() {
        let svg = line_chart_svg("empty", "x", "y", &[]);
        assert!(svg.contains("</svg>"));
        let flat = vec![Series {
            name: "flat".into(),
            points: vec![(1.0, 5.0), (1.0, 5.0)],
        }];
        let svg = scatter_svg("flat", "x", "y", &flat);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_step(1.0, 5.0), 0.2);
        assert_eq!(nice_step(100.0, 6.0), 20.0);
        let (lo, hi, step) = axis_range([0.13, 0.92].into_iter());
        assert!((lo - 0.1).abs() < 1e-9 && (hi - 1.0).abs() < 1e-9 && (step - 0.1).abs() < 1e-9);
    }
}
