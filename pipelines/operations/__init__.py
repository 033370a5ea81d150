"""Operations: where results go (the destination and the last asset, ``publish/published``),
the inbox sensor and the monthly and yearly schedules that request ``audit_job`` runs,
deliveries over time (inbox, results folder and history.json) and DAGSTER_HOME."""
