#!/usr/bin/python3
"""Checks RUN/report.html (src/audit_html.cpp) the way a reviewer sees it: rendered by headless
Chromium, not grepped.

    /usr/bin/python3 report_check.py RUN_DIR [--chromium PATH] [--timeout S]

check_report(run_dir) renders the page with `chromium --headless --dump-dom` (Debian 12 package
`chromium`), then checks, raising AssertionError with the reason and printing "ok: ..." otherwise:
  * Chromium exits 0 within the timeout (120 s: a first start as root in a VM can be slow);
  * the page loads nothing: Chromium's log (--enable-logging=stderr --v=1) names no file but the
    page, no network request of the page, no failed resource and no console message, and the
    rendered DOM holds no script, no external reference (src, href other than #..., url(...))
    and no event handler;
  * the rendered DOM holds at least one <svg> (when a token was scored), the title, the verdict (and every finding), the
    totals scored and flagged, the token FPR upper bound and, for a calibration, each family's
    operating point, formatted as the page formats them (the functions below mirror real(),
    percent() and show() of report/html.cpp).
Standard library only, so audit_e2e.py can import it: `from report_check import check_report`.
"""
import argparse
import html.parser
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Chromium's own background requests (update checks, account probes, dictionaries): not the page's.
CHROMIUM_HOSTS = re.compile(r"(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "frame", "object", "embed", "audio", "video", "source",
                  "image", "use", "foreignobject", "base", "form", "picture"}
RESOURCE_ATTRS = {"src", "srcset", "href", "xlink:href", "data", "poster", "action", "formaction", "background"}


def ok(text):
    print("ok: " + text)


def require(condition, text):
    if not condition:
        raise AssertionError("report check failed: " + text)


# ---- the page's number formats (report/html.cpp) ----
def count_text(n):
    return "{:,}".format(int(n))


def real_text(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "\u221e" if x > 0 else "\u2212\u221e"
    a = abs(x)
    if (a >= 1e4 or (a >= 1e3 and x == round(x))) and a < 1e15:
        r = int(math.floor(a + 0.5))  # llround: halves away from zero
        return ("-" if x < 0 else "") + count_text(r)
    return "%.4g" % x


def percent_text(fraction):
    return "n/a" if fraction is None else real_text(100 * fraction) + "%"


def point_text(p):
    return "threshold %s, rank cutoff %s: FPR %s%%, Info %s%%" % (
        real_text(p["threshold"]), count_text(p["rank_cutoff"]), real_text(p["fpr_percent"]),
        real_text(p["info_percent"]))


class Dom(html.parser.HTMLParser):
    """Text of the rendered DOM, the text of each element with an id, and anything that loads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.ids, self.text, self.problems, self.svgs = [], {}, [], [], 0

    def _tag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append("<%s> element" % tag)
        self.svgs += tag == "svg"
        for name, value in attrs:
            value = value or ""
            if name in RESOURCE_ATTRS and not value.startswith("#"):
                self.problems.append('<%s %s="%s">' % (tag, name, value[:80]))
            if name.startswith("on"):
                self.problems.append("<%s %s=...> event handler" % (tag, name))
            if name == "style" and ("url(" in value or "@import" in value):
                self.problems.append("<%s style> loads %s" % (tag, value[:80]))
            if name == "id":
                self.ids[value] = []

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("id")))

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs)

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "style" and ("url(" in data or "@import" in data):
            self.problems.append("<style> loads a resource")
        self.text.append(data)
        for _, element_id in self.stack:
            if element_id:
                self.ids[element_id].append(data)

    def id_text(self, element_id):
        require(element_id in self.ids, "the page has no element id=%r" % element_id)
        return " ".join("".join(self.ids[element_id]).split())


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def render(page, chromium=None, timeout=TIMEOUT):
    """Returns (dom, stderr, seconds) of `chromium --headless --dump-dom file://page`."""
    chromium = chromium or find_chromium()
    require(chromium is not None, "chromium not found on PATH (Debian 12: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="fssl-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--user-data-dir=" + profile, "--no-first-run", "--enable-logging=stderr", "--v=1",
               "--dump-dom", "file://" + page]
        start = time.time()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("report check failed: chromium did not finish within %d s: %s" % (timeout, " ".join(cmd)))
        seconds = time.time() - start
    stderr = p.stderr.decode("utf-8", "replace")
    require(p.returncode == 0, "chromium exited %d on %s:\n%s" % (p.returncode, page, stderr[-3000:]))
    return p.stdout.decode("utf-8", "replace"), stderr, seconds


def load_problems(stderr, page_url, source):
    """Lines of Chromium's log saying the page loaded (or failed to load) something, or logged."""
    problems = []
    for line in stderr.splitlines():
        if "CONSOLE" in line or "Failed to load resource" in line or "Not allowed to load local resource" in line:
            problems.append(line.strip())
        m = re.search(r"FileURLLoader::Start: (\S+)", line)
        if m and m.group(1) != page_url:
            problems.append("loads " + m.group(1))
        m = re.search(r"NotifyBeforeURLRequest: (\w+)://([^/:?#]+)(\S*)", line)
        if m and (not CHROMIUM_HOSTS.search(m.group(2)) or m.group(2) in source):
            problems.append("requests %s://%s%s" % m.groups())
    return problems


def check_report(run_dir, chromium=None, timeout=TIMEOUT):
    """Raises AssertionError unless RUN_DIR/report.html renders and shows summary.json's key facts."""
    run_dir = os.path.abspath(run_dir)
    page = os.path.join(run_dir, "report.html")
    require(os.path.isfile(page), "%s does not exist" % page)
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    with open(page, encoding="utf-8", errors="replace") as f:
        source = f.read()
    dom_text, stderr, seconds = render(page, chromium, timeout)
    ok("chromium rendered %s in %.1f s (%d bytes, DOM %d bytes)" % (page, seconds, len(source), len(dom_text)))

    problems = load_problems(stderr, "file://" + page, source)
    require(not problems, "chromium logged loads or console messages:\n  " + "\n  ".join(problems[:20]))
    ok("chromium loaded nothing but the page and logged no console message")
    dom = Dom()
    dom.feed(dom_text)
    dom.close()
    require(not dom.problems, "the rendered DOM loads or runs something:\n  " + "\n  ".join(dom.problems[:20]))
    require("<script" not in dom_text.lower(), "the rendered DOM holds a <script")
    ok("no script, external reference or event handler in the rendered DOM")
    tokens = s.get("gumbel_max", {}).get("tokens", 0) + s.get("inverse_cdf", {}).get("tokens", 0)
    if tokens > 0 or "calibration" in s:
        require(dom.svgs >= 1, "no <svg> chart in the rendered DOM (summary.json: %d scored tokens)" % tokens)
        ok("%d inline SVG chart(s)" % dom.svgs)
    else:
        ok("no token scored: %d SVG chart(s), none required" % dom.svgs)

    text = " ".join("".join(dom.text).split())
    title = "fssl calibration report" if "calibration" in s else "fssl audit report"
    require(title in text, "title %r not in the page" % title)
    verdict = dom.id_text("verdict")
    if s.get("status") != "complete":
        require("incomplete" in verdict, "verdict %r of an incomplete run does not say incomplete" % verdict)
    elif s.get("verdict", {}).get("within_policy"):
        require(verdict == "within policy", "verdict %r, summary.json says within policy" % verdict)
    else:
        require(verdict == "findings over policy", "verdict %r, summary.json has findings" % verdict)
    for finding in s.get("verdict", {}).get("findings", []):
        require(" ".join(finding.split()) in dom.id_text("findings"), "finding %r not in the page" % finding)
    ok("verdict shown: %s (%d finding(s))" % (verdict, len(s.get("verdict", {}).get("findings", []))))

    for key in ("scored", "flagged"):
        require(isinstance(s.get("totals", {}).get(key), int), "summary.json has no totals.%s" % key)
        want = count_text(s["totals"][key])
        got = dom.id_text("totals-" + key)
        require(got == want, "totals %s shown as %r, summary.json has %s" % (key, got, want))
    ok("totals shown: %s scored, %s flagged" % (dom.id_text("totals-scored"), dom.id_text("totals-flagged")))
    upper = s.get("bounds", {}).get("token_fpr", {}).get("upper")
    if upper is not None:
        got = dom.id_text("token-fpr-upper")
        require(got == percent_text(upper), "token FPR upper bound shown as %r, expected %r" % (got, percent_text(upper)))
        ok("token FPR upper bound shown: %s" % got)
    for family, c in sorted(s.get("calibration", {}).items()):
        if not isinstance(c, dict) or not c.get("points") or not c.get("tokens"):
            continue
        op = c.get("operating_point")
        if op:
            got = dom.id_text("operating-point-" + family)
            require(got == point_text(op), "%s operating point shown as %r, expected %r" % (family, got, point_text(op)))
            ok("%s operating point shown: %s" % (family, got))
        else:
            require("none meets the target FPR" in text, "%s: no operating point, and the page does not say so" % family)
            ok("%s: the page says no operating point meets the target" % family)
    return {"seconds": seconds, "svgs": dom.svgs, "bytes": len(source)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds Chromium may take (default 120)")
    args = parser.parse_args()
    try:
        check_report(args.run_dir, args.chromium, args.timeout)
    except AssertionError as e:
        print("FAILED: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
