"""Tests for cwlpilot.semantics.cwl.outdir: output files laid out in --outdir as cwltool lays them out."""

from __future__ import annotations

from pathlib import Path

from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.outdir import deliver


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _made(tmp_path: Path, tag: str) -> Path:
    src = tmp_path / f"job-{tag}"
    (src / "d" / "sub").mkdir(parents=True)
    for rel in ("d/a.txt", "d/sub/b.txt", "a.txt"):
        (src / rel).write_text(tag + "\n")
    return src


def test_a_file_inside_a_directory_output_is_not_copied_again_at_the_top(tmp_path: Path) -> None:
    src = _made(tmp_path, "one")
    result = {"dir1": files.describe(str(src / "d")), "inner1": files.describe(str(src / "d" / "a.txt")),
              "top1": files.describe(str(src / "a.txt"))}
    out = tmp_path / "out"
    got = deliver(result, out)
    assert _tree(out) == ["a.txt", "d", "d/a.txt", "d/sub", "d/sub/b.txt"]
    assert got["inner1"]["path"] == str(out / "d" / "a.txt")
    assert [e["path"] for e in got["dir1"]["listing"]] == [str(out / "d" / "a.txt"), str(out / "d" / "sub")]


def test_different_files_of_one_name_become_name_2_with_their_basename_kept(tmp_path: Path) -> None:
    result = {f"top{i}": files.describe(str(_made(tmp_path, str(i)) / "a.txt")) for i in (1, 2, 3)}
    result["again"] = dict(result["top1"])  # the same file twice: one copy
    got = deliver(result, tmp_path / "out")
    assert _tree(tmp_path / "out") == ["a.txt", "a.txt_2", "a.txt_3"]
    assert [got[k]["path"].rsplit("/", 1)[1] for k in ("top1", "top2", "top3", "again")] == [
        "a.txt", "a.txt_2", "a.txt_3", "a.txt"]
    assert {got[k]["basename"] for k in got} == {"a.txt"}
    assert (tmp_path / "out" / "a.txt_3").read_text() == "3\n"


def test_a_directory_of_links_lists_what_it_links_to(tmp_path: Path) -> None:
    src = _made(tmp_path, "x")
    bundle = tmp_path / "expr" / "bundle"
    bundle.mkdir(parents=True)
    (bundle / "a.txt").symlink_to(src / "a.txt")  # what an ExpressionTool's Directory literal becomes
    result = {"d": files.describe(str(bundle)), "f": files.describe(str(src / "a.txt"))}
    got = deliver(result, tmp_path / "out")
    assert _tree(tmp_path / "out") == ["bundle", "bundle/a.txt"]
    assert not (tmp_path / "out" / "bundle" / "a.txt").is_symlink()
    assert got["f"]["path"] == str(tmp_path / "out" / "bundle" / "a.txt")


def test_secondary_files_go_beside_their_primary(tmp_path: Path) -> None:
    (tmp_path / "r.bam").write_text("b")
    (tmp_path / "r.bam.bai").write_text("i")
    bam = {**files.describe(str(tmp_path / "r.bam")), "secondaryFiles": [files.describe(str(tmp_path / "r.bam.bai"))]}
    got = deliver({"bam": bam}, tmp_path / "out")
    assert _tree(tmp_path / "out") == ["r.bam", "r.bam.bai"]
    assert got["bam"]["secondaryFiles"][0]["path"] == str(tmp_path / "out" / "r.bam.bai")
