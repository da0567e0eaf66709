//! Case registry: organizations, users, notifications of occurrence, follow-up, statistics and audit log.
