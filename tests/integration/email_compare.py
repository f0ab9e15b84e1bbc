"""
email_compare - reads email files with the gateway's parser and with
Python's standard `email` package (policy=email.policy.default, a parser
that is careful with malformed input) and reports where they differ.

    /usr/bin/python3 tests/integration/email_compare.py [--bin DIR] FILE|DIR...

For each file it compares what a person would check:
  text         the body Python picks (plain, else HTML) must be in the
               gateway's text (the gateway joins every inline text part,
               so it may hold more); compared with blanks collapsed
  leak         a line of the gateway's text that is a boundary delimiter of
               the message ("--b" or "--b--") where Python's text has none:
               MIME structure read as text
  missing      an attachment (name, media type) Python finds and the
               gateway does not
  extra        an attachment the gateway lists and Python does not
  unsplit      Python could not split a multipart (see below)
  ids          a plausible message id of References or In-Reply-To
               (<local@domain>, or a bare local@domain) that is not in the
               gateway's reply_to (the message's own id aside)
Attachments are the leaves that are not inline text/plain or text/html
parts (and every part with Content-Disposition: attachment); an attached
message (message/rfc822) is one attachment, its parts are not walked, as
the gateway reads it. A multipart Python cannot split (it keeps it as one
leaf) is Python's failure, not a missing attachment: it is counted as
`unsplit` and the comparison of attachments is left out for that file.
Messages the gateway quarantines are reported as such and not compared.

Exit status: 0 when nothing differs, 1 otherwise, 2 on usage errors.
tests/integration/test_email_compare.py runs it over the fixtures with a
list of the differences that are known and why.
"""

import argparse
import email
import email.policy
import json
import os
import re
import subprocess
import sys

# A plausible message id: <local@domain>, or a bare local@domain (the
# obsolete syntax of RFC 5322 section 4.5.4 and old mailers).
_ANGLE_ID = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+?)\s*>")
_BARE_ID = re.compile(r"(?<![<\w.!#$%&'*+/=?^`{|}~-])([\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+\w)(?![\w>])")
_TAG = re.compile(r"<[^>]*>")


def _blanks(s):
    return " ".join(s.split())


def _comments_removed(v):
    """A header value without its (comments) and "quoted strings"."""
    out, depth, quoted, esc = [], 0, False, False
    for ch in v:
        if esc:
            esc = False
            continue
        if ch == "\\":
            esc = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"' and depth == 0:
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def plausible_ids(value):
    """The message ids a careful reader finds in a References or
    In-Reply-To value, in order, without duplicates."""
    ids = []
    if not value:
        return ids
    v = _comments_removed(str(value))
    for m in _ANGLE_ID.finditer(v):
        ids.append((m.start(), m.group(1)))
    rest = _ANGLE_ID.sub(lambda m: " " * len(m.group(0)), v)
    for m in _BARE_ID.finditer(rest):
        ids.append((m.start(), m.group(1)))
    seen, out = set(), []
    for _, i in sorted(ids):
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _leaves(part):
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.get_payload():
            yield from _leaves(sub)
    else:
        yield part


def _text_of(part):
    try:
        text = part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        raw = part.get_payload(decode=True) or b""
        text = raw.decode("utf-8", "replace")
    if not isinstance(text, str):
        return ""
    if part.get_content_type() == "text/html":
        text = _TAG.sub(" ", re.sub(r"(?is)<(head|style|script)\b.*?</\1\s*>", " ", text))
    return text


def _boundaries(msg):
    out = set()
    for part in msg.walk():
        b = part.get_param("boundary")
        if isinstance(b, str) and b:
            out.add(b.strip())
    return out


def reference(raw):
    """What Python's email package reads: text, attachments, ids, boundaries."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain", "html"))
    atts = []
    unsplit = 0
    for leaf in _leaves(msg):
        if leaf is body:
            continue
        if leaf.get_content_maintype() == "multipart":
            unsplit += 1  # a multipart Python could not split: its own failure
            continue
        inline_text = leaf.get_content_type() in ("text/plain", "text/html")
        if inline_text and leaf.get_content_disposition() != "attachment":
            continue
        atts.append(((leaf.get_filename() or "").strip(), leaf.get_content_type()))
    ids = []
    for name in ("References", "In-Reply-To"):
        for i in plausible_ids(msg.get(name, failobj="")):
            if i not in ids:
                ids.append(i)
    own = plausible_ids(msg.get("Message-ID", failobj=""))
    return {
        "text": _text_of(body) if body is not None else "",
        "html": body is not None and body.get_content_type() == "text/html",
        "attachments": atts,
        "ids": [i for i in ids if i not in own[:1]],
        "boundaries": _boundaries(msg),
        "unsplit": unsplit,
    }


def gateway(paths, bindir):
    """The gateway's verdict and event for each file, in order, read by one
    `gatewayctl parse-email FILE...` (one JSON line per file)."""
    out = subprocess.run([os.path.join(bindir, "gatewayctl"), "parse-email", *paths, "--json"],
                         capture_output=True, timeout=120 + len(paths), check=False)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"gatewayctl exited {out.returncode}: {out.stderr!r}")
    if len(paths) == 1:
        return [json.loads(out.stdout)]
    results = [json.loads(line) for line in out.stdout.splitlines()]
    if [r.get("file") for r in results] != list(paths):
        raise RuntimeError(f"gatewayctl answered for other files: {out.stdout[:200]!r}")
    return results


def _leaked(text, boundaries, ref_text):
    lines = {ln.strip() for ln in text.splitlines()}
    ref_lines = {ln.strip() for ln in ref_text.splitlines()}
    hits = []
    for b in sorted(boundaries):
        for marker in ("--" + b, "--" + b + "--"):
            if marker in lines and marker not in ref_lines:
                hits.append(marker)
    return hits


def _multiset_minus(a, b):
    rest = list(b)
    out = []
    for x in a:
        if x in rest:
            rest.remove(x)
        else:
            out.append(x)
    return out


def compare(path, res):
    """The differences for one file whose gateway() result is res: a list
    of (kind, detail)."""
    with open(path, "rb") as f:
        raw = f.read()
    ref = reference(raw)
    if res.get("verdict") != "ingest":
        return [("quarantined", res.get("reason", ""))]
    ev = res["event"]
    text = ev.get("text", "")
    diffs = []
    want = _blanks(ref["text"])
    got = _blanks(text)
    if ref["html"]:
        want = " ".join(want.split()[:3])
    if want and want not in got:
        diffs.append(("text", f"want {want[:120]!r} in {got[:120]!r}"))
    for marker in _leaked(text, ref["boundaries"], ref["text"]):
        diffs.append(("leak", marker))
    gw_atts = [(a.get("name", ""), a.get("type", "")) for a in ev.get("attachments", [])]
    if ref["unsplit"]:
        diffs.append(("unsplit", f"Python kept {ref['unsplit']} multipart(s) as one part"))
    else:
        for a in _multiset_minus(ref["attachments"], gw_atts):
            diffs.append(("missing", f"{a[0]!r} {a[1]}"))
        for a in _multiset_minus(gw_atts, ref["attachments"]):
            diffs.append(("extra", f"{a[0]!r} {a[1]}"))
    reply_to = ev.get("reply_to", [])
    if len(reply_to) < 64:
        for i in ref["ids"]:
            if i not in reply_to and i != ev.get("external_id"):
                diffs.append(("ids", i))
    return diffs


def files_of(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, names in sorted(os.walk(a)):
                for n in sorted(names):
                    if n.startswith(("LICENSE", "COPYING", "SOURCES")) or n.endswith(".json"):
                        continue
                    yield os.path.join(root, n)
        else:
            yield a


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="compare the gateway's MIME reading with Python's")
    p.add_argument("--bin", default=os.environ.get("GW_BIN_DIR",
                                                   os.path.join(here, "..", "..", "build", "bin")))
    p.add_argument("paths", nargs="+")
    a = p.parse_args(argv)
    n = differing = 0
    paths = list(files_of(a.paths))
    for path, res in zip(paths, gateway(paths, a.bin) if paths else []):
        n += 1
        diffs = compare(path, res)
        if diffs:
            differing += 1
            for kind, detail in diffs:
                print(f"{path}: {kind}: {detail}")
    print(f"{n} files, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
