"""The marts' YAML documents every model and every column it lists (a fast check; the integration test
``test_every_column_of_the_published_marts_has_a_description`` checks the built marts' comments, which also
catches a column missing from the YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml

from o2c.config import PROJECT_ROOT

MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"


def mart_models() -> dict[str, tuple[Path, dict[str, object]]]:
    models: dict[str, tuple[Path, dict[str, object]]] = {}
    for path in sorted(MARTS.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            models[model["name"]] = (path, model)
    return models


def test_every_mart_model_has_a_yaml_entry_with_a_description() -> None:
    models = mart_models()
    sql = {path.stem for path in MARTS.rglob("*.sql")}
    assert sorted(sql - set(models)) == [], "mart models without an entry in a marts YAML file"
    assert [
        name for name, (_, model) in models.items() if not str(model.get("description") or "").strip()
    ] == []


def test_every_column_listed_for_a_mart_has_a_description() -> None:
    undocumented = [
        f"{path.relative_to(MARTS)}: {name}.{column['name']}"
        for name, (path, model) in mart_models().items()
        for column in model.get("columns") or []  # type: ignore[attr-defined]
        if not str(column.get("description") or "").strip()
    ]
    assert undocumented == []
