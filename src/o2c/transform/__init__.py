"""Run the dbt project (staging → intermediate → marts) for one as-of date."""
