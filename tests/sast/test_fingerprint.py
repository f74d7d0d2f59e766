"""GitHub's primaryLocationLineHash, computed from source, and the identity it gives a result."""

from __future__ import annotations

from mamori.sast.fingerprint import FINGERPRINT_VERSION, base_of, identity_key, line_hash_at, line_hashes

# Published vectors of GitHub's implementation (codeql-action's tests): input -> one hash per line.
VECTORS = {
    "": ["c129715d7a2bc9a3:1"],
    " a\nb\n  \t\tc\n d": ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
    " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End": [
        "8b7cf3e952e7aeb2:1",
        "b1ae1287ec4718d9:1",
        "bff680108adb0fcc:1",
        "c6805c5e1288b612:1",
        "b86d3392aea1be30:1",
        "e6ceba753e1a442:1",
    ],
}
WITH_FINAL_NEWLINE = [
    "e9496ae3ebfced30:1",
    "fb7c023a8b9ccb3f:1",
    "ce8ba1a563dcdaca:1",
    "e20e36e16fcb0cc8:1",
    "b3edc88f2938467e:1",
    "c8e28b0b4002a3a0:1",
    "c129715d7a2bc9a3:1",
]


def test_line_hashes_match_githubs_published_vectors() -> None:
    for text, expected in VECTORS.items():
        assert line_hashes(text) == expected, repr(text)


def test_every_line_ending_style_gives_the_same_hashes() -> None:
    for text in (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
        " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
        " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
        " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
    ):
        assert line_hashes(text) == WITH_FINAL_NEWLINE


def test_repeated_lines_are_told_apart_by_their_occurrence_number() -> None:
    hashes = line_hashes("Lorem ipsum dolor sit amet.\n" * 10)
    assert hashes[:6] == [f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)]
    assert hashes[6:] == [
        "a7f2ff1481e87703:1",
        "a9cf91f7bbf1862b:1",
        "55ec222b86bcae53:1",
        "cc97dc7b1d7d8f7b:1",
        "c129715d7a2bc9a3:1",
    ]


SOURCE = "import os\n\ndef run(cmd):\n    os.system(cmd)\n    return True\n"


def test_lines_inserted_above_and_reindentation_keep_the_hash() -> None:
    before = line_hash_at(line_hashes(SOURCE), 4)
    edited = (
        "import os\nimport sys\n\n\nclass Runner:\n  def run(cmd):\n          os.system(cmd)\n          return True\n"
    )
    assert line_hash_at(line_hashes(edited), 7) == before
    changed = SOURCE.replace("os.system(cmd)", "os.system(cmd + ' --safe')")
    assert line_hash_at(line_hashes(changed), 4) != before


def test_a_line_past_the_end_has_no_hash() -> None:
    assert line_hash_at(line_hashes(SOURCE), 99) is None
    assert line_hash_at(line_hashes(SOURCE), 0) is None


def test_identity_is_versioned_and_blind_to_the_occurrence_number_only_in_base_of() -> None:
    key = identity_key(rule="bandit/B605", path="app.py", line_hash="abc:1")
    assert key.startswith(f"{FINGERPRINT_VERSION}:")
    assert key != identity_key(rule="bandit/B605", path="app.py", line_hash="abc:2")
    assert base_of("abc:2") == base_of("abc:1") == "abc"
