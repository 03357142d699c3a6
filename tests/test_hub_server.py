"""The local Hub-compatible server, exercised through the real huggingface_hub client and raw HTTP."""

import hashlib
import http.client
import json
from urllib.parse import urlsplit

import pytest
from hub_server import READ_TOKEN, WRITE_TOKEN, running_hub, validate_card

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from running_hub(tmp_path_factory.mktemp("hf-home"))


@pytest.fixture(scope="module")
def api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint, token=WRITE_TOKEN)


def test_create_upload_list_download(hub, api, tmp_path):
    from huggingface_hub import hf_hub_download

    url = api.create_repo("tester/files", repo_type="dataset")
    assert url.repo_id == "tester/files" and url.repo_type == "dataset"
    assert api.create_repo("tester/files", repo_type="dataset", exist_ok=True).repo_id == "tester/files"  # 409 with url
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("hello")
    (tmp_path / "w.safetensors").write_bytes(bytes(range(256)) * 4)
    info = api.upload_folder(repo_id="tester/files", repo_type="dataset", folder_path=tmp_path)
    files = {f.path: f for f in api.list_repo_tree("tester/files", repo_type="dataset", recursive=True) if hasattr(f, "lfs")}
    assert files["w.safetensors"].lfs is not None and files["w.safetensors"].lfs.size == 1024
    assert files["sub/a.txt"].lfs is None and files["sub/a.txt"].size == 5
    assert [p.path for p in api.get_paths_info("tester/files", ["sub", "sub/a.txt", "nope"], repo_type="dataset")] == ["sub", "sub/a.txt"]
    path = hf_hub_download("tester/files", "w.safetensors", repo_type="dataset", revision=info.oid)
    assert open(path, "rb").read() == bytes(range(256)) * 4
    assert [c.title for c in api.list_repo_commits("tester/files", repo_type="dataset")][-1] == "initial commit"


def test_missing_folder_revision_and_repo_errors(hub, api):
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    api.create_repo("tester/errors")
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree("tester/errors", path_in_repo="data"))
    with pytest.raises(RevisionNotFoundError):
        api.model_info("tester/errors", revision="v9.9.9")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tester/absent")


def test_range_request_and_headers(hub, api):
    api.create_repo("tester/range")
    info = api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="digits.txt", repo_id="tester/range")
    conn = http.client.HTTPConnection(*urlsplit(hub.endpoint).netloc.split(":"))
    conn.request("GET", "/tester/range/resolve/main/digits.txt", headers={"Range": "bytes=2-5"})
    resp = conn.getresponse()
    assert resp.status == 206 and resp.read() == b"2345"
    assert resp.getheader("Content-Range") == "bytes 2-5/10" and resp.getheader("X-Repo-Commit") == info.oid
    lfs = api.upload_file(path_or_fileobj=b"\0" * 300, path_in_repo="w.bin", repo_id="tester/range").oid
    conn.request("HEAD", f"/tester/range/resolve/{lfs}/w.bin")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and resp.getheader("X-Linked-Size") == "300"
    assert resp.getheader("X-Linked-Etag").strip('"') == hashlib.sha256(b"\0" * 300).hexdigest()
    conn.request("HEAD", "/tester/range/resolve/main/nothing.txt")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 404 and resp.getheader("X-Error-Code") == "EntryNotFound"


def test_error_answers_consume_the_body_so_the_connection_stays_usable(hub):
    conn = http.client.HTTPConnection(*urlsplit(hub.endpoint).netloc.split(":"))
    body = json.dumps({"name": "x", "type": "model", "padding": "x" * 100_000}).encode()
    conn.request("POST", "/api/repos/create", body=body, headers={"Authorization": f"Bearer {READ_TOKEN}"})
    resp = conn.getresponse()
    assert resp.status == 403 and b"rights" in resp.read()
    conn.request("GET", "/api/whoami-v2", headers={"Authorization": f"Bearer {WRITE_TOKEN}"})  # same connection
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["name"] == "tester"
    conn.request("POST", "/api/repos/create", body=b"{not json", headers={"Authorization": f"Bearer {WRITE_TOKEN}"})
    resp = conn.getresponse()
    assert resp.status == 400 and b"Bad request" in resp.read()
    conn.request("GET", "/api/whoami-v2", headers={"Authorization": "Bearer hf_bad"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 401 and "Invalid credentials" in resp.getheader("X-Error-Message")


def test_branches_tags_and_refs(hub, api):
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo("tester/refs")
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="f.txt", repo_id="tester/refs").oid
    api.create_tag("tester/refs", tag="v1.0.0", revision=first)
    api.create_branch("tester/refs", branch="release-v1.0.0", revision="v1.0.0")
    api.upload_file(path_or_fileobj=b"2", path_in_repo="f.txt", repo_id="tester/refs")
    with pytest.raises(HfHubHTTPError) as err:
        api.create_tag("tester/refs", tag="v1.0.0")
    assert err.value.response.status_code == 409
    refs = api.list_repo_refs("tester/refs")
    assert {t.name: t.target_commit for t in refs.tags} == {"v1.0.0": first}
    assert {b.name for b in refs.branches} == {"main", "release-v1.0.0"}
    assert api.model_info("tester/refs", revision="release-v1.0.0").sha == first
    api.delete_tag("tester/refs", tag="v1.0.0")
    api.delete_branch("tester/refs", branch="release-v1.0.0")
    refs = api.list_repo_refs("tester/refs")
    assert refs.tags == [] and [b.name for b in refs.branches] == ["main"]


def test_pull_requests(hub, api):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo("tester/prs", repo_type="dataset")
    pr = api.create_pull_request("tester/prs", title="release", repo_type="dataset")
    assert (pr.num, pr.git_reference, pr.target_branch, pr.status) == (1, "refs/pr/1", "refs/heads/main", "open")
    sha = api.upload_file(path_or_fileobj=b"proposed", path_in_repo="a.txt", repo_id="tester/prs", repo_type="dataset",
                          revision=pr.git_reference).oid
    assert api.list_repo_files("tester/prs", repo_type="dataset") == [".gitattributes"]  # main is untouched
    assert api.dataset_info("tester/prs", revision="refs/pr/1").sha == sha
    path = hf_hub_download("tester/prs", "a.txt", repo_type="dataset", revision="refs/pr/1", cache_dir=str(hub.env.home / "pr"))
    assert open(path, "rb").read() == b"proposed"
    info = api.upload_file(path_or_fileobj=b"other", path_in_repo="b.txt", repo_id="tester/prs", repo_type="dataset",
                           create_pr=True)
    assert (info.pr_num, info.pr_revision) == (2, "refs/pr/2")
    assert api.list_repo_files("tester/prs", repo_type="dataset", revision="refs/pr/2") == [".gitattributes", "b.txt"]
    api.create_tag("tester/prs", tag="v1.0.0", revision=sha, repo_type="dataset")
    assert hub.repo("tester/prs", "dataset").tags == {"v1.0.0": sha}
    with pytest.raises(HfHubHTTPError) as err:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="c.txt", repo_id="tester/prs", repo_type="dataset", revision="refs/pr/9")
    assert err.value.response.status_code == 404


def test_tokens_and_private_repos(hub, api):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    api.create_repo("tester/secret", private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.endpoint, token=False).model_info("tester/secret")
    reader = HfApi(endpoint=hub.endpoint, token=READ_TOKEN)
    assert reader.model_info("tester/secret").private is True
    with pytest.raises(HfHubHTTPError) as err:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="tester/secret")
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.endpoint, token="hf_nope").whoami()
    assert err.value.response.status_code == 401
    api.update_repo_settings("tester/secret", private=False)
    assert HfApi(endpoint=hub.endpoint, token=False).model_info("tester/secret").private is False
    with pytest.raises(HfHubHTTPError) as err:
        reader.delete_repo("tester/secret")
    assert err.value.response.status_code == 403
    api.delete_repo("tester/secret")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tester/secret")


def test_fault_injection_5xx_is_retried_and_drop_is_reported(hub, api):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo("tester/faults")
    hub.inject("POST", r"/preupload/", nth=1, action="status", status=502)
    api.upload_file(path_or_fileobj=b"abc", path_in_repo="a.txt", repo_id="tester/faults")  # preupload is retried
    assert [s for _, _, s in hub.requests("POST", r"^/api/models/tester/faults/preupload/")] == [502, 200]
    hub.inject("POST", r"^/api/models/tester/faults/commit/", nth=1, action="drop")
    with pytest.raises((httpx2.HTTPError, HfHubHTTPError)):
        api.upload_file(path_or_fileobj=b"def", path_in_repo="b.txt", repo_id="tester/faults")
    hub.clear_faults()
    assert "b.txt" not in api.list_repo_files("tester/faults")


def test_validate_yaml_endpoint(hub):
    from huggingface_hub import DatasetCard

    good = "---\nlicense: cc-by-nc-4.0\nlanguage:\n- swa\nsize_categories:\n- n<1K\n---\n# x\n"
    DatasetCard(good).validate(repo_type="dataset")
    assert validate_card(good, "dataset") == []
    bad = good.replace("cc-by-nc-4.0", "non-commercial-please")
    with pytest.raises(ValueError, match="license"):
        DatasetCard(bad).validate(repo_type="dataset")
    problems = validate_card("---\nmodel-index:\n- name: m\n  results:\n  - task: {}\n---\n", "model")
    assert any("task.type" in p for p in problems) and any("dataset.type" in p for p in problems)
