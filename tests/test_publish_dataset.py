"""Publishing built silver datasets to the local Hub-compatible server and loading them back."""

import json
import shutil

import pytest
from hub_server import IOB2, READ_TOKEN, WRITE_TOKEN, running_hub, write_tiny_build

from silver_ner.publish.dataset import load_built_dataset, plan_dataset, publish_dataset
from silver_ner.publish.hub import PublishError

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from running_hub(tmp_path_factory.mktemp("hf-home"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real tiny build of the embedded sample: configs swa and deu."""
    return write_tiny_build(tmp_path_factory.mktemp("build") / "v1")


@pytest.fixture(scope="module")
def built_v2(tmp_path_factory):
    """The same sources with another validation share: other rows per split, so other content."""
    return write_tiny_build(tmp_path_factory.mktemp("build") / "v2", validation_fraction=0.3)


@pytest.fixture(scope="module")
def built_swa(tmp_path_factory):
    return write_tiny_build(tmp_path_factory.mktemp("build") / "swa-only", langs=("swa",))


def _rows(folder, lang, split):
    return load_built_dataset(folder).configs[lang].data[split].to_list()


def _tags(hub, repo):
    return dict(hub.repo(repo, "dataset").tags)


def test_round_trip_two_configs(hub, built):
    from datasets import load_dataset

    result, plan = publish_dataset(built, "silver-org/silver-ner", "1.0.0")
    assert result.status == "published" and result.tag == "v1.0.0"
    assert _tags(hub, "silver-org/silver-ner") == {"v1.0.0": result.commit}
    for lang in ("swa", "deu"):
        ds = load_dataset("silver-org/silver-ner", lang, revision="v1.0.0")
        local = load_built_dataset(built).configs[lang].data
        for split in ("train", "validation"):
            assert ds[split].to_list() == local[split].to_list()
            assert ds[split].features == local[split].features
        assert ds["train"].features["ner_tags"].feature.names == IOB2


def test_card_on_the_hub_has_configs_license_language(hub, built):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load("silver-org/silver-ner", repo_type="dataset")
    meta = card.data.to_dict()
    assert [c["config_name"] for c in meta["configs"]] == ["swa", "deu"]
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "swa/train-*"}, {"split": "validation", "path": "swa/validation-*"}]
    assert meta["language"] == ["swa", "deu"]
    assert meta["license"] == "apache-2.0"  # the embedded sample's licence, the only source
    assert meta["task_categories"] == ["token-classification"] and meta["task_ids"] == ["named-entity-recognition"]
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    rows = load_built_dataset(built).configs["swa"].num_rows
    assert {s["name"]: s["num_examples"] for s in infos["swa"]["splits"]} == rows
    assert infos["swa"]["download_size"] > 0  # as push_to_hub wrote it
    assert "arXiv:2501.18750" in card.text and "| 1.0.0 |" in card.text


def test_same_version_identical_is_noop_and_different_is_refused(hub, built, built_v2):
    repo = hub.repo("silver-org/silver-ner", "dataset")
    commits_before = len(repo.commits)
    result, _ = publish_dataset(built, "silver-org/silver-ner", "1.0.0")
    assert result.status == "unchanged"
    assert len(repo.commits) == commits_before
    with pytest.raises(PublishError, match="already exists .* different content"):
        publish_dataset(built_v2, "silver-org/silver-ner", "1.0.0")
    assert len(repo.commits) == commits_before


def test_changed_card_for_a_published_version_is_refused(hub, built, capsys):
    from silver_ner.cli import main

    repo = hub.repo("silver-org/silver-ner", "dataset")
    commits_before, tag_before = len(repo.commits), repo.tags["v1.0.0"]
    with pytest.raises(PublishError, match="same content but a different card \\(license: 'apache-2.0' → 'cc-by-nc-4.0'\\)"):
        publish_dataset(built, "silver-org/silver-ner", "1.0.0", license="cc-by-nc-4.0")
    with pytest.raises(PublishError, match="different card \\(quality \\(body\\): \\{\\} → \\{\"Europarl de F1\": 0.916\\}\\)"):
        publish_dataset(built, "silver-org/silver-ner", "1.0.0", quality={"Europarl de F1": 0.916})
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/silver-ner", "--version", "1.0.0",
                 "--pretty-name", "Another title"]) == 2
    captured = capsys.readouterr()
    assert "nothing pushed" not in captured.out and "publish the new card under a new version" in captured.err
    assert len(repo.commits) == commits_before and repo.tags["v1.0.0"] == tag_before


def test_second_version_keeps_the_first_loadable(hub, built, built_v2):
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    v2 = built_v2
    result, _ = publish_dataset(v2, "silver-org/silver-ner", "1.1.0", branch=True)
    assert result.branch == "release-v1.1.0"
    old = load_dataset("silver-org/silver-ner", "swa", revision="v1.0.0")
    new = load_dataset("silver-org/silver-ner", "swa", revision="v1.1.0")
    assert old["train"].to_list() == _rows(built, "swa", "train")
    assert new["train"].to_list() == _rows(v2, "swa", "train") != old["train"].to_list()
    assert load_dataset("silver-org/silver-ner", "deu", revision="release-v1.1.0")["validation"].num_rows == \
        load_built_dataset(v2).configs["deu"].num_rows["validation"]
    card = DatasetCard.load("silver-org/silver-ner", repo_type="dataset")
    assert "| 1.0.0 |" in card.text and "| 1.1.0 |" in card.text  # version history


def test_dropped_language_is_removed_from_the_next_version(hub, built, built_swa):
    from huggingface_hub import DatasetCard, HfApi

    publish_dataset(built_swa, "silver-org/dropping", "1.0.0")
    publish_dataset(built, "silver-org/dropping", "1.1.0")
    publish_dataset(built_swa, "silver-org/dropping", "2.0.0")
    files = HfApi().list_repo_files("silver-org/dropping", repo_type="dataset", revision="v2.0.0")
    assert not any(f.startswith("deu/") for f in files)
    card = DatasetCard.load("silver-org/dropping", repo_type="dataset")
    assert [c["config_name"] for c in card.data.to_dict()["configs"]] == ["swa"]


def test_private_repo_is_invisible_without_token(hub, built):
    from datasets import load_dataset
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    publish_dataset(built, "silver-org/private-silver", "1.0.0", private=True)
    assert hub.repo("silver-org/private-silver", "dataset").private
    hub.env.set_token(None)
    try:
        with pytest.raises(RepositoryNotFoundError):
            HfApi().dataset_info("silver-org/private-silver")
        with pytest.raises(Exception, match="(?i)doesn't exist|not found|cannot be accessed"):
            load_dataset("silver-org/private-silver", "swa", revision="v1.0.0")
    finally:
        hub.env.set_token(WRITE_TOKEN)
    assert load_dataset("silver-org/private-silver", "swa", revision="v1.0.0")["train"].num_rows == \
        load_built_dataset(built).configs["swa"].num_rows["train"]


def test_wrong_and_read_only_tokens(hub, built):
    n = len(hub.log)
    with pytest.raises(PublishError, match="rejected the token \\(401") as err:
        publish_dataset(built, "silver-org/other", "1.0.0", token="hf_wrong_token_value")
    assert "hf_wrong_token_value" not in str(err.value)
    with pytest.raises(PublishError, match="read-only"):
        publish_dataset(built, "silver-org/other", "1.0.0", token=READ_TOKEN)
    assert not [r for r in hub.log[n:] if r[0] in ("POST", "PUT") and "validate-yaml" not in r[1]]
    assert ("dataset", "silver-org/other") not in hub.repos
    hub.env.set_token(None)
    try:
        with pytest.raises(PublishError, match="no Hub token"):
            publish_dataset(built, "silver-org/other", "1.0.0")
    finally:
        hub.env.set_token(WRITE_TOKEN)


def test_5xx_and_dropped_connection_during_upload_are_retried(hub, built):
    from datasets import load_dataset

    hub.inject("PUT", r"^/lfs-upload/", nth=1, action="status", status=503)
    hub.inject("PUT", r"^/lfs-upload/", nth=3, action="drop")
    try:
        result, _ = publish_dataset(built, "silver-org/flaky", "1.0.0")
    finally:
        hub.clear_faults()
    assert result.status == "published"
    puts = hub.requests("PUT", r"^/lfs-upload/")
    assert any(status == 503 for _, _, status in puts) and any(status == -1 for _, _, status in puts)
    assert load_dataset("silver-org/flaky", "deu", revision="v1.0.0")["train"].to_list() == _rows(built, "deu", "train")


@pytest.mark.parametrize("action", ["status", "drop"])
def test_failed_commit_leaves_no_tag_and_a_retry_publishes(hub, built, action):
    repo_id = f"silver-org/broken-{action}"
    # the second commit is the second language's push: the first language is on main, partial
    hub.inject("POST", rf"^/api/datasets/{repo_id}/commit/", nth=2, action=action, status=500)
    try:
        with pytest.raises(PublishError, match="no tag v1.0.0 was created"):
            publish_dataset(built, repo_id, "1.0.0")
    finally:
        hub.clear_faults()
    repo = hub.repo(repo_id, "dataset")
    assert repo.tags == {}
    head = repo.commits[repo.branches["main"]]
    assert any(p.startswith("swa/") for p in head.files) and not any(p.startswith("deu/") for p in head.files)
    result, _ = publish_dataset(built, repo_id, "1.0.0")
    assert result.status == "published" and set(repo.tags) == {"v1.0.0"}
    assert any(p.startswith("deu/") for p in repo.commits[repo.tags["v1.0.0"]].files)


def test_bad_inputs_are_refused_before_any_request(hub, built, tmp_path):
    n = len(hub.log)
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a built silver dataset"):
        publish_dataset(tmp_path / "plain", "silver-org/x", "1.0.0")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        publish_dataset(tmp_path / "missing", "silver-org/x", "1.0.0")
    with pytest.raises(ValueError, match="--version '1.0' is not a semantic version"):
        publish_dataset(built, "silver-org/x", "1.0")
    with pytest.raises(ValueError, match="--repo 'silver-ner' is not a Hub repository id"):
        publish_dataset(built, "silver-ner", "1.0.0")
    with pytest.raises(ValueError, match="license 'mit' is less restrictive than the sources"):
        publish_dataset(built, "silver-org/x", "1.0.0", license="mit")
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    meta = json.loads((broken / "silver_ner_build.json").read_text())
    rows = meta["configs"]["swa"]["num_rows"]["train"]
    meta["configs"]["swa"]["num_rows"]["train"] = 99
    (broken / "silver_ner_build.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"{rows} rows, but .*silver_ner_build.json says 99"):
        publish_dataset(broken, "silver-org/x", "1.0.0")
    (broken / "silver_ner_build.json").write_text('{"format": "silver-ner-build/1",\n "configs": ')
    with pytest.raises(ValueError, match="silver_ner_build.json:2: not valid JSON"):
        publish_dataset(broken, "silver-org/x", "1.0.0")
    assert hub.log[n:] == []


def test_card_failing_hub_validation_is_refused_before_upload(hub, built):
    from silver_ner.publish.hub import Hub

    plan = plan_dataset(built, "silver-org/x", "1.0.0")
    plan.card.data.size_categories = ["huge"]
    n = len(hub.log)
    with pytest.raises(ValueError, match="fails the Hub's metadata checks.*size_categories"):
        Hub().validate_card(plan.card, "dataset", "silver-org/x")
    assert [r[1] for r in hub.log[n:]] == ["/api/validate-yaml"]


def test_cli_dry_run_and_errors(hub, built, capsys):
    from silver_ner.cli import main

    n = len(hub.log)
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/cli", "--version", "1.0.0", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "swa/train-00000-of-00001.parquet" in out and "load_dataset('silver-org/cli', 'deu', revision='v1.0.0')" in out
    assert "task_ids:\n- named-entity-recognition" in out and "dry run, nothing pushed" in out
    assert hub.log[n:] == []
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/cli", "--version", "1.0.0"]) == 0
    assert "published v1.0.0" in capsys.readouterr().out
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/cli", "--version", "v1.0.0"]) == 0
    assert "identical content" in capsys.readouterr().out
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/cli", "--version", "one"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("silver-ner publish: error: --version 'one'") and err.count("\n") == 1


def test_local_build_folder_loads_like_the_hub_repo(hub, built):
    from datasets import load_dataset

    publish_dataset(built, "silver-org/like-local", "1.0.0")
    for lang in ("swa", "deu"):
        local = load_dataset(str(built), lang)
        remote = load_dataset("silver-org/like-local", lang, revision="v1.0.0")
        assert set(local) == set(remote) == {"train", "validation"}
        for split in ("train", "validation"):
            assert local[split].features == remote[split].features
            assert local[split].to_list() == remote[split].to_list() == _rows(built, lang, split)
    with pytest.raises(ValueError, match="Config name is missing"):  # never one config of mixed languages
        load_dataset(str(built))


def _chain(repo, sha, stop):
    """Commits from ``sha`` back to (not including) ``stop``."""
    out = []
    while sha and sha != stop:
        out.append(repo.commits[sha])
        sha = repo.commits[sha].parent
    return out


def test_cli_token_revision_and_commit_message(hub, built, capsys):
    from datasets import load_dataset

    from silver_ner.cli import main

    args = ["publish", "dataset", str(built), "--repo", "silver-org/options", "--version", "1.0.0"]
    hub.env.set_token(None)
    try:
        assert main(args + ["--token", READ_TOKEN]) == 2
        assert "read-only" in capsys.readouterr().err
        assert main(args + ["--token", WRITE_TOKEN, "--revision", "staging", "--commit-message", "Demo release 1.0.0"]) == 0
    finally:
        hub.env.set_token(WRITE_TOKEN)
    assert "published v1.0.0" in capsys.readouterr().out
    repo = hub.repo("silver-org/options", "dataset")
    first = repo.branches["main"]
    assert set(repo.commits[first].files) == {".gitattributes"}  # the default branch is untouched
    assert repo.tags["v1.0.0"] == repo.branches["staging"]
    release_commits = _chain(repo, repo.tags["v1.0.0"], first)
    assert len(release_commits) == 3 and {c.title for c in release_commits} == {"Demo release 1.0.0"}
    assert load_dataset("silver-org/options", "deu", revision="v1.0.0")["train"].to_list() == _rows(built, "deu", "train")


def test_create_pr_puts_the_release_in_a_pull_request(hub, built, capsys):
    from datasets import load_dataset

    from silver_ner.cli import main

    assert main(["publish", "dataset", str(built), "--repo", "silver-org/proposed", "--version", "1.0.0", "--create-pr"]) == 0
    out = capsys.readouterr().out
    repo = hub.repo("silver-org/proposed", "dataset")
    (pull,) = repo.pulls.values()
    assert f"published v1.0.0 at commit {pull.head} of pull request" in out and f"/discussions/{pull.num}" in out
    assert set(repo.commits[repo.branches["main"]].files) == {".gitattributes"}  # main changes when the PR is merged
    assert repo.tags["v1.0.0"] == pull.head and pull.base == "main"
    assert {"README.md", "silver_ner_release.json", "swa/train-00000-of-00001.parquet"} <= set(repo.commits[pull.head].files)
    assert load_dataset("silver-org/proposed", "swa", revision="v1.0.0")["validation"].to_list() == _rows(built, "swa", "validation")
    assert main(["publish", "dataset", str(built), "--repo", "silver-org/proposed", "--version", "1.0.1", "--create-pr",
                 "--revision", "staging"]) == 2
    assert "does not go with --revision staging" in capsys.readouterr().err


def test_config_with_only_a_train_split(hub, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    train_only = write_tiny_build(tmp_path / "train-only", langs=("swa",), validation_fraction=0)
    assert json.loads((train_only / "silver_ner_build.json").read_text())["configs"]["swa"]["splits"] == ["train"]
    result, plan = publish_dataset(train_only, "silver-org/train-only", "1.0.0")
    assert plan.files[:1] == ["swa/train-00000-of-00001.parquet"] and not any("validation" in f for f in plan.files)
    remote = load_dataset("silver-org/train-only", "swa", revision="v1.0.0")
    local = load_dataset(str(train_only), "swa")
    assert set(remote) == set(local) == {"train"}
    assert remote["train"].to_list() == local["train"].to_list() == _rows(train_only, "swa", "train")
    meta = DatasetCard.load("silver-org/train-only", repo_type="dataset").data.to_dict()
    assert meta["configs"] == [{"config_name": "swa", "data_files": [{"split": "train", "path": "swa/train-*"}]}]
