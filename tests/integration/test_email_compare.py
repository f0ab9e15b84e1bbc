"""
The email parser against another careful parser: every message of
tests/fixtures/email read by `gatewayctl parse-email` and by Python's
standard email package (email_compare.py), file by file.

Where the two differ, the difference must be one listed below with the
reason, and each one listed must still occur: a change of the parser that
makes it read a message differently fails here until the list says why.
The malformed-MIME fixtures (malformed/) are read by the gateway as
tests/unit/test_email_parse.c expects; where Python differs on them, it
is Python that misreads them (it cannot split the multipart, or keeps a
closing delimiter and the epilogue in the text).

mbox files (several messages in one file) are not single messages and are
left out; messages the gateway quarantines (no sender) are covered by the
unit tests.
"""

import json
import os
import subprocess
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

import email_compare
import gwtest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "email")

PY_UNSPLIT = "Python cannot split this multipart and keeps it as one part; the gateway reads its parts"

# (file under tests/fixtures/email, kind) -> why the two parsers differ.
KNOWN = {
    ("chatwoot/in_reply_to.headers-only.txt", "unsplit"): "a header block without its body: " + PY_UNSPLIT,
    ("chatwoot/reply_mail_without_uuid.headers-only.txt", "unsplit"): "the same",
    ("chatwoot/support_in_reply_to.headers-only.txt", "unsplit"): "the same",
    ("cpython/msg_15.txt", "unsplit"): PY_UNSPLIT,
    ("cpython/msg_17.txt", "unsplit"): PY_UNSPLIT,
    ("cpython/msg_25.txt", "unsplit"): PY_UNSPLIT,
    ("cpython/msg_31.txt", "unsplit"): PY_UNSPLIT,
    ("cpython/msg_41.txt", "unsplit"): PY_UNSPLIT,
    ("flanker/false-multipart.eml", "unsplit"): PY_UNSPLIT,
    ("flanker/mailformed-headers.eml", "unsplit"): PY_UNSPLIT,
    ("mimekit/messages/empty-multipart.txt", "unsplit"): "a multipart without parts: Python "
        "keeps it as one part, the gateway finds nothing in it",
    ("malformed/boundary-case.eml", "unsplit"): "the boundary in another case than its "
        "delimiter lines: the gateway reads it with the delimiters' boundary",
    ("malformed/folded-boundary.eml", "unsplit"): "boundary= on a folded line without ';': "
        "the gateway puts the ';' back",
    ("malformed/missing-boundary.eml", "unsplit"): "no boundary parameter: the gateway reads "
        "the multipart with the boundary of its first delimiter line",
    ("malformed/prefix-boundary-nested.eml", "unsplit"): "a nested boundary that is the "
        "enclosing one and '--': Python reads the enclosing close as the nested separator",
    ("malformed/closing-marker-junk.eml", "text"): "a closing delimiter with text after it: "
        "Python keeps it and the epilogue in the text, the gateway ends the text there",
    ("cpython/msg_04.txt", "extra"): "JMAP (RFC 8621 4.1.4): an inline text part with a file "
        "name that is not the first part is an attachment; Python keeps it as text",
    ("cpython/msg_44.txt", "extra"): "the same",
    ("flanker/russian-attachment-yahoo.eml", "missing"): "a raw 8-bit file name whose last "
        "character is cut: Python decodes it as UTF-8 with U+FFFD, GMime reads that last word "
        "with the fallback charset (windows-1252)",
    ("flanker/russian-attachment-yahoo.eml", "extra"): "the same name, as the gateway reads it",
    ("flanker/spam/broken-ctype.eml", "missing"): "an unreadable Content-Type of a part named "
        "facejj.jpg: Python says text/plain, the gateway application/octet-stream (a file)",
    ("flanker/spam/broken-ctype.eml", "extra"): "the same part, as the gateway lists it",
    ("mimekit/messages/missing-subtype.txt", "text"): "Content-Type application-x-gzip (no "
        "'/'): Python reads the body as text/plain, the gateway as a file",
    ("mimekit/messages/missing-subtype.txt", "extra"): "the same part, as the gateway lists it",
    ("mimekit/messages/feedback-report.txt", "text"): "a UTF-8 byte order mark before the "
        "headers: Python reads no header at all (the whole file is its text); the gateway skips "
        "the mark",
    ("mimekit/messages/feedback-report.txt", "extra"): "the same: the report's parts, which "
        "Python does not see",
    ("mimekit/messages/issue358.txt", "text"): "a header line without its folding blank "
        "(\"ds;MX:1;...\"): Python's text is a header's value, the gateway reads the body",
}


def fixture_files():
    for path in email_compare.files_of([FIXTURES]):
        rel = os.path.relpath(path, FIXTURES)
        if "mbox" in rel.split(os.sep) or rel.endswith(".mbox"):
            continue
        yield rel, path


# gatewayctl runs at once on this many fixtures: each run mostly waits (its
# start, the pipe), so a few at a time take a fraction of the time.
WORKERS = 4


def compare_all(paths, bindir):
    """[email_compare.compare(path)] for each path, in order: WORKERS
    `gatewayctl parse-email FILE...` at a time, each given a share of the
    files (one process per share, not per file)."""
    shares = [paths[i::WORKERS] for i in range(WORKERS) if paths[i::WORKERS]]

    def run(share):
        return [list(email_compare.compare(p, res))
                for p, res in zip(share, email_compare.gateway(share, bindir))]

    with ThreadPoolExecutor(WORKERS) as pool:
        by_path = {}
        for share, diffs in zip(shares, pool.map(run, shares)):
            by_path.update(zip(share, diffs))
    return [by_path[p] for p in paths]


class TestEmailCompare(unittest.TestCase):

    def test_every_fixture_read_as_python_reads_it(self):
        bindir = gwtest.bin_dir()
        gwtest.binary("gatewayctl")
        seen, unexplained, files = set(), [], 0
        fixtures = list(fixture_files())
        diffs = compare_all([path for rel, path in fixtures], bindir)
        for (rel, path), found in zip(fixtures, diffs):
            files += 1
            for kind, detail in found:
                if kind == "quarantined":
                    continue
                # Structure read as text and lost ids are never acceptable.
                self.assertNotIn(kind, ("leak", "ids"), f"{rel}: {kind}: {detail}")
                if (rel, kind) in KNOWN:
                    seen.add((rel, kind))
                else:
                    unexplained.append(f"{rel}: {kind}: {detail}")
        self.assertGreater(files, 180)
        self.assertEqual(unexplained, [], "differences with no reason in KNOWN")
        self.assertEqual(sorted(set(KNOWN) - seen), [],
                         "listed differences that no longer occur: update KNOWN")

    def test_malformed_fixtures_better_than_or_as_python(self):
        """Each malformed class: the gateway's text and attachments."""
        bindir = gwtest.bin_dir()
        names = sorted(os.listdir(os.path.join(FIXTURES, "malformed")))
        diffs = compare_all([os.path.join(FIXTURES, "malformed", n) for n in names], bindir)
        for name, found in zip(names, diffs):
            for kind, detail in found:
                self.assertIn((f"malformed/{name}", kind), KNOWN, detail)

    def test_several_files_at_once(self):
        """parse-email FILE...: one line per file in order, each as that file
        alone gives it; an unreadable one has its error; the exit code is
        the worst."""
        bindir = gwtest.bin_dir()
        ctl = os.path.join(bindir, "gatewayctl")
        tmp = tempfile.TemporaryDirectory(prefix="gwpe-")
        self.addCleanup(tmp.cleanup)
        no_from = os.path.join(tmp.name, "no-from.eml")
        with open(no_from, "wb") as f:
            f.write(b"To: desk@example.com\r\nSubject: hi\r\n\r\nno sender\r\n")
        paths = [os.path.join(FIXTURES, "cpython", "msg_01.txt"), no_from]
        missing = os.path.join(tmp.name, "gone.eml")
        out = subprocess.run([ctl, "parse-email", *paths, missing], capture_output=True,
                             text=True, timeout=gwtest.tmo(60))
        self.assertEqual(out.returncode, 2, out.stderr)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual([r["file"] for r in lines], paths + [missing])
        self.assertEqual(lines[2], {"file": missing, "error": "not found"})
        for p, got in zip(paths, lines):
            alone = subprocess.run([ctl, "parse-email", p], capture_output=True, text=True,
                                   timeout=gwtest.tmo(60))
            want = json.loads(alone.stdout)
            self.assertEqual(got["verdict"], want["verdict"], p)
            if "event" in want:
                for k in ("id", "ts", "received_at"):  # the time it was read
                    want["event"].pop(k)
                    got["event"].pop(k)
                self.assertEqual(got["event"], want["event"], p)
            else:
                self.assertEqual(got["reason"], want["reason"], p)
        self.assertEqual([r["verdict"] for r in lines[:2]], ["ingest", "quarantine"])
        self.assertIn("no-from.eml: quarantine:", out.stderr)
        none = subprocess.run([ctl, "parse-email"], capture_output=True, text=True,
                              timeout=gwtest.tmo(60))
        self.assertEqual(none.returncode, 64)
        self.assertIn("parse-email needs a FILE", none.stderr)

    def test_plausible_ids(self):
        ids = email_compare.plausible_ids(
            '<yes> junk <a@b> (c <x@y>) "q <p@q>" bare@host.example, <  sp@ace >')
        self.assertEqual(ids, ["a@b", "bare@host.example", "sp@ace"])


if __name__ == "__main__":
    unittest.main()
