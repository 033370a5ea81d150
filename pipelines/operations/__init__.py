"""Operations: the inbox sensor, the monthly and yearly schedules, the jobs they start,
deliveries over time (results folder and history) and DAGSTER_HOME.

For ``pipelines/definitions.py``: ``SCHEDULES``, ``SENSORS``, ``OPERATION_JOBS`` (loaded on
first use, so ``myeloma-audit --help`` and ``inbox`` do not import Dagster for nothing)."""

__all__ = ["OPERATION_JOBS", "SCHEDULES", "SENSORS"]


def __getattr__(name: str):
    if name == "OPERATION_JOBS":
        from pipelines.operations.jobs import OPERATION_JOBS
        return OPERATION_JOBS
    if name == "SCHEDULES":
        from pipelines.operations.schedules import SCHEDULES
        return SCHEDULES
    if name == "SENSORS":
        from pipelines.operations.sensors import SENSORS
        return SENSORS
    raise AttributeError(f"module 'pipelines.operations' has no attribute {name!r}")
