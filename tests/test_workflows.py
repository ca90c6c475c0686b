"""The GitHub workflows: least privilege, actions pinned by commit, a release that
publishes only what it checked, by trusted publishing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?P<rest>.*)$")


def _load(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True
    return {("on" if k is True else k): v for k, v in yaml.safe_load(_text(name)).items()}


def _text(name: str) -> str:
    return (WORKFLOWS / name).read_text(encoding="utf-8")


NAMES = sorted(path.name for path in WORKFLOWS.glob("*.yml"))


def test_the_workflows_are_there():
    assert {"test.yml", "pages.yml", "release.yml", "compat.yml", "experiments.yml"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_by_commit_with_its_release(name: str):
    uses = [line for line in _text(name).splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    assert uses, name
    for line in uses:
        match = PINNED.match(line)
        assert match, line
        assert re.fullmatch(r"[0-9a-f]{40}", match["ref"]), f"{name}: not a commit: {line}"
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", match["rest"]), f"{name}: {line}"


@pytest.mark.parametrize("name", NAMES)
def test_permissions_are_least_and_tokens_stay_with_their_jobs(name: str):
    workflow = _load(name)
    assert "permissions" in workflow, f"{name}: no top-level permissions"
    top = workflow["permissions"]
    assert top in ({}, {"contents": "read"}), (name, top)
    for job_name, job in workflow["jobs"].items():
        permissions = job.get("permissions", top)
        assert "write" not in {permissions.get("contents"), permissions.get("packages")}
        if permissions.get("id-token") == "write":
            # only the upload to PyPI and the deployment to Pages prove who they are
            assert job.get("environment", {}).get("name") in {"pypi", "github-pages"}, job_name
        for step in job.get("steps", []):
            if "actions/checkout" in step.get("uses", ""):
                assert step.get("with", {}).get("persist-credentials") is False, job_name


@pytest.mark.parametrize("name", NAMES)
def test_torch_comes_from_the_cpu_index(name: str):
    text = _text(name)
    if "make " in text or ("pip install" in text and "torch" in text):
        assert "PIP_EXTRA_INDEX_URL: https://download.pytorch.org/whl/cpu" in text, name


def test_a_version_tag_releases_what_was_checked():
    release = _load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {}
    jobs = release["jobs"]
    build = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert "python -m build" in build
    assert 'scripts/check_dist.py dist --tag "${GITHUB_REF_NAME}"' in build
    assert "twine check --strict dist/*" in build
    check = "\n".join(step.get("run", "") for step in jobs["check"]["steps"])
    assert "scripts/check_wheel.py --wheel dist/" in check
    assert "make lint build pytest" in check
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"build", "check"}
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    (upload,) = [s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert "with" not in upload or not {"password", "user"} & set(upload["with"])
    assert "secrets." not in _text("release.yml")  # trusted publishing: no stored token
    assert jobs["pages"]["needs"] == "publish"


def test_compat_runs_the_oldest_versions_and_the_newest_python():
    compat = _load("compat.yml")
    assert "schedule" in compat["on"] and "workflow_dispatch" in compat["on"]
    steps = compat["jobs"]["oldest"]["steps"]
    text = _text("compat.yml")
    assert "scripts/oldest_constraints.py test" in text
    assert "scripts/check_wheel.py --constraints oldest.txt" in text
    pythons = {
        job: next(
            s["with"]["python-version"] for s in j["steps"] if "setup-python" in s.get("uses", "")
        )
        for job, j in compat["jobs"].items()
    }
    assert steps and pythons == {"oldest": "3.10", "newest-python": "3.12"}


def test_experiments_run_weekly_and_keep_their_table():
    experiments = _load("experiments.yml")
    assert "schedule" in experiments["on"] and "workflow_dispatch" in experiments["on"]
    job = experiments["jobs"]["experiments"]
    assert job["timeout-minutes"] >= 180
    assert any("make experiments" in step.get("run", "") for step in job["steps"])
    assert any("upload-artifact" in step.get("uses", "") for step in job["steps"])
