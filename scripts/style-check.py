#!/usr/bin/env python3
"""
style-check.py - the house rules a compiler does not check (docs/STYLE in
/work/shared/STYLE.md, "Habits for this project"), run by .ci/run:

  * no function over MAX_LINES lines in production code (every folder but
    tests/ and bench/): the lines between its opening and closing brace;
  * no banned call anywhere: atoi, sprintf, vsprintf, strcpy, strcat,
    strtok, gets (use snprintf, strtol/conf_parse_ll, memcpy with a length,
    strtok_r or strspn/strcspn);

A function is a body that opens at file level, with its "{" alone at the
start of a line (the layout every source file here follows) or at the end
of its signature ("int f(void) {", K&R), and ends with the "}" at the start
of a line. Prints one line per finding,
"FILE:LINE: what", and exits 1 when there is any, 0 otherwise.

  scripts/style-check.py [FILE...]   (default: every tracked .c/.h/.cc file)
"""
import os
import re
import subprocess
import sys

MAX_LINES = 60
PRODUCTION_EXCLUDED = ("tests/", "bench/")
BANNED = ("atoi", "sprintf", "vsprintf", "strcpy", "strcat", "strtok", "gets")
BANNED_RE = re.compile(r"(?<![A-Za-z0-9_.>])(%s)\s*\(" % "|".join(BANNED))
SIGNATURE_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_:~]*)\s*\(")


def tracked_sources(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "*.c", "*.h", "*.cc"],
                         check=True, capture_output=True, text=True).stdout
    return [os.path.join(root, f) for f in out.split()]


def strip_comments_and_strings(text):
    """The text with comments, string and character literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(lines, open_idx):
    """The name before the "(" of the signature above (or on) the body's "{"."""
    sig = " ".join(lines[max(0, open_idx - 6):open_idx + 1])
    names = [m.group(1) for m in SIGNATURE_RE.finditer(sig)
             if m.group(1) not in ("if", "for", "while", "switch", "sizeof", "__attribute__")]
    return names[0] if names else "?"


# A signature ending with its body's brace: "...) {", an attribute allowed
# between; not an initializer ("= {") nor a preprocessor line.
KR_OPEN_RE = re.compile(r"\)\s*(__attribute__\s*\(\(.*\)\)\s*)?\{\s*$")


def opens_function(line, in_directive):
    """Does `line`, at file level, open a function's body?"""
    if line.rstrip() == "{":
        return True
    return (not in_directive and not line.lstrip().startswith("#")
            and "=" not in line and KR_OPEN_RE.search(line) is not None)


def long_functions(path, lines):
    found, open_idx, in_directive = [], None, False
    for i, line in enumerate(lines):
        directive = in_directive or line.lstrip().startswith("#")
        in_directive = directive and line.rstrip().endswith("\\")
        if open_idx is None and opens_function(line, directive):
            open_idx = i
        elif line.startswith("}") and open_idx is not None:
            body = i - open_idx - 1
            if body > MAX_LINES:
                found.append((open_idx + 1, "function %s() is %d lines (at most %d)"
                              % (function_name(lines, open_idx), body, MAX_LINES)))
            open_idx = None
    return found


def banned_calls(lines):
    found = []
    for i, line in enumerate(lines):
        for m in BANNED_RE.finditer(line):
            found.append((i + 1, "banned call %s()" % m.group(1)))
    return found


def check(root, path):
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = strip_comments_and_strings(f.read()).split("\n")
    found = banned_calls(lines)
    if not rel.startswith(PRODUCTION_EXCLUDED):
        found += long_functions(path, lines)
    return ["%s:%d: %s" % (rel, n, what) for n, what in sorted(found)]


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    paths = [os.path.abspath(p) for p in argv[1:]] or tracked_sources(root)
    problems = []
    for p in paths:
        problems += check(root, p)
    for p in problems:
        print(p)
    print("style-check: %d file(s), %s" % (len(paths), "%d problem(s)" % len(problems)
                                             if problems else "clean"),
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
