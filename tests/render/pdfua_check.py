#!/usr/bin/env python3
"""The machine-checkable part of PDF/UA-1 (the Matterhorn protocol's automatic
conditions) and of PDF/A-2a's tagging, for the renderer's output: veraPDF cannot be
installed here, so the render tests run this on every PDF they make.

    python3 pdfua_check.py FILE.pdf [FILE.pdf ...]

Prints one line per violation, naming the file, the page (1-based) and the object,
and exits 1 if there is any (2 if a file cannot be read). What it checks:

- every piece of content (text, path painting, images, shadings) is inside a
  marked-content sequence with an MCID or an /Artifact one, none nested inside
  another; MCIDs are unique on their page (Matterhorn 01-004, 01-005);
- the /ParentTree maps each page's MCIDs to the element whose /K holds them and
  every marked-content reference of the tree to content on its page, each link
  annotation to a Link element holding it as an OBJR, and annotations carry
  /Contents (01-*, 28-*);
- structure types are standard or role-mapped to a standard type (02-001);
- headings begin at H1 and never skip a level going down (14-*);
- tables contain TH, cells sit in rows and rows in tables (15-*);
- figures have /Alt or /ActualText (13-004);
- fonts are embedded and composite fonts have a ToUnicode map that maps every
  code drawn (PDF/A-2u, 2a); glyph 0 is never drawn (31-*);
- the catalog has /MarkInfo /Marked true, /Lang, /ViewerPreferences
  /DisplayDocTitle true, a /StructTreeRoot, pages /Tabs /S, and the XMP a dc:title
  and the pdfuaid:part it claims (06-*, 07-*, 11-*).
"""

import re
import sys

import pikepdf
from pikepdf import Name

# PDF 1.7 standard structure types (ISO 32000-1, 14.8.4).
STANDARD = {
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index",
    "NonStruct", "Private", "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl",
    "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot", "Span", "Quote", "Note",
    "Reference", "BibEntry", "Code", "Link", "Annot", "Ruby", "RB", "RT", "RP", "Warichu", "WT",
    "WP", "Figure", "Formula", "Form",
}
TEXT_SHOWING = {"Tj", "TJ", "'", '"'}
PAINTING = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "Do"} | TEXT_SHOWING


class Report:
    def __init__(self, path):
        self.path = path
        self.problems = []

    def add(self, where, message):
        self.problems.append(f"{self.path}: {where}: {message}")


def ref(obj):
    """An indirect object's number and generation, for comparing objects."""
    return obj.objgen if obj.is_indirect else None


def number_tree(node, out):
    """Flatten a number tree into {key: value}."""
    if "/Nums" in node:
        nums = node.Nums
        for i in range(0, len(nums) - 1, 2):
            out[int(nums[i])] = nums[i + 1]
    for kid in node.get("/Kids", []):
        number_tree(kid, out)
    return out


def name(obj):
    return str(obj)[1:] if isinstance(obj, Name) else None


def check_content(pdf, report):
    """Marked content of each page: returns {page index: {mcid: structure type}}."""
    marked = {}
    unicode_maps = {}
    for p, page in enumerate(pdf.pages):
        where = f"page {p + 1}"
        fonts = {}
        resources = page.obj.get("/Resources", pikepdf.Dictionary())
        for key, font in resources.get("/Font", pikepdf.Dictionary()).items():
            fonts[key] = font
        stack = []  # (tag, mcid or None, artifact)
        mcids = {}
        font = None
        for instruction in pikepdf.parse_content_stream(page):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                op, operands = "BI", []
            else:
                operands, op = instruction.operands, str(instruction.operator)
            if op in ("BMC", "BDC"):
                tag = name(operands[0])
                props = operands[1] if op == "BDC" and len(operands) > 1 else None
                if isinstance(props, Name):
                    props = resources.get("/Properties", {}).get(str(props))
                mcid = int(props.MCID) if isinstance(props, pikepdf.Dictionary) and "/MCID" in props else None
                artifact = tag == "Artifact"
                tagging = mcid is not None or artifact
                if tagging and any(s[1] is not None or s[2] for s in stack):
                    report.add(where, f"marked content /{tag} (MCID {mcid}) nested in tagged content")
                if mcid is not None:
                    if mcid in mcids:
                        report.add(where, f"MCID {mcid} used twice")
                    mcids[mcid] = tag
                stack.append((tag, mcid, artifact))
            elif op == "EMC":
                if not stack:
                    report.add(where, "EMC without a matching BMC/BDC")
                else:
                    stack.pop()
            elif op == "Tf":
                font = str(operands[0])
            elif op in PAINTING or op == "BI":
                if not any(s[1] is not None or s[2] for s in stack):
                    report.add(where, f"content operator {op} outside tagged content and outside an artifact")
                if op in TEXT_SHOWING and font is not None:
                    check_codes(fonts.get(font), operands, op, font, where, report, unicode_maps)
        if stack:
            report.add(where, f"{len(stack)} marked-content sequence(s) left open")
        marked[p] = mcids
    return marked


def check_codes(font, operands, op, font_name, where, report, unicode_maps):
    """Two-byte codes of a composite (Identity-H) font: code 0 is glyph 0, .notdef, and
    every code needs a Unicode value in the font's ToUnicode map."""
    if font is None or font.get("/Subtype") != Name.Type0:
        return
    key = ref(font)
    if key not in unicode_maps:
        unicode_maps[key] = to_unicode(font)
    mapped = unicode_maps[key]
    strings = operands[0] if op == "TJ" else [operands[-1]]
    for s in strings:
        if isinstance(s, pikepdf.String):
            data = bytes(s)
            codes = [data[i] << 8 | data[i + 1] for i in range(0, len(data) - 1, 2)]
            if 0 in codes:
                report.add(where, f"glyph 0 (.notdef) drawn with font {font_name}")
            unmapped = sorted({c for c in codes if c not in mapped})
            if unmapped:
                listed = " ".join(f"{c:04X}" for c in unmapped[:8])
                report.add(where, f"codes without a Unicode value in font {font_name}'s ToUnicode: {listed}")


def to_unicode(font):
    """The codes a font's ToUnicode CMap maps to a usable value (not 0, U+FEFF, U+FFFE)."""
    if "/ToUnicode" not in font:
        return set()
    cmap = bytes(font.ToUnicode.read_bytes()).decode("latin-1")
    out = set()

    def usable(hexes):
        return hexes.upper() not in ("", "0000", "FEFF", "FFFE")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            if usable(dst):
                out.add(int(code, 16))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            if dst.startswith("[") or usable(dst[1:-1]):
                out.update(range(int(lo, 16), int(hi, 16) + 1))
    return out


def check_fonts(pdf, report):
    seen = set()
    for p, page in enumerate(pdf.pages):
        resources = page.obj.get("/Resources", pikepdf.Dictionary())
        for key, font in resources.get("/Font", pikepdf.Dictionary()).items():
            if ref(font) in seen:
                continue
            seen.add(ref(font))
            where = f"page {p + 1}, font {key} (object {ref(font)})"
            target = font.DescendantFonts[0] if font.get("/Subtype") == Name.Type0 else font
            descriptor = target.get("/FontDescriptor")
            if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                report.add(where, "font not embedded")
            if font.get("/Subtype") == Name.Type0 and "/ToUnicode" not in font:
                report.add(where, "composite font without ToUnicode")


def check_catalog(pdf, report):
    root = pdf.Root
    mark_info = root.get("/MarkInfo")
    if mark_info is None or not bool(mark_info.get("/Marked", False)):
        report.add("catalog", "/MarkInfo /Marked is not true")
    lang = root.get("/Lang")
    if lang is None or not str(lang).strip():
        report.add("catalog", "no /Lang")
    prefs = root.get("/ViewerPreferences")
    if prefs is None or not bool(prefs.get("/DisplayDocTitle", False)):
        report.add("catalog", "/ViewerPreferences /DisplayDocTitle is not true")
    xmp = bytes(root.Metadata.read_bytes()).decode("utf-8", "replace") if "/Metadata" in root else ""
    if not re.search(r"<dc:title>.*?<rdf:li[^>]*>\s*[^<\s]", xmp, re.S):
        report.add("catalog", "XMP has no dc:title")
    part = re.search(r"<pdfuaid:part>(\d+)</pdfuaid:part>", xmp)
    if part is None or part.group(1) != "1":
        report.add("catalog", "XMP does not claim pdfuaid:part 1")
    for p, page in enumerate(pdf.pages):
        if page.obj.get("/Tabs") != Name.S:
            report.add(f"page {p + 1}", "/Tabs is not /S")


def check_structure(pdf, marked, report):
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        report.add("catalog", "no /StructTreeRoot")
        return
    role_map = root.get("/RoleMap", pikepdf.Dictionary())
    page_index = {ref(page.obj): p for p, page in enumerate(pdf.pages)}
    # What the tree says about each page's MCIDs and each annotation: element refs.
    tree_mcids = {}
    tree_objrs = {}
    headings = []

    def standard(s):
        seen = set()
        while s not in STANDARD and s in role_map and s not in seen:
            seen.add(s)
            s = name(role_map[Name("/" + s)]) or s
        return s if s in STANDARD else None

    def walk(elem, parent_type):
        s = name(elem.get("/S"))
        where = f"structure element /{s} (object {ref(elem)})"
        kind = standard(s) if s else None
        if kind is None:
            report.add(where, "structure type neither standard nor role-mapped")
        if kind and re.fullmatch(r"H[1-6]", kind):
            headings.append((int(kind[1]), where))
        if kind == "Figure":
            alt = elem.get("/Alt") or elem.get("/ActualText")
            if alt is None or not str(alt).strip():
                report.add(where, "figure without /Alt")
        if kind in ("TH", "TD") and parent_type != "TR":
            report.add(where, f"table cell inside /{parent_type}, not /TR")
        if kind == "TR" and parent_type not in ("Table", "THead", "TBody", "TFoot"):
            report.add(where, f"table row inside /{parent_type}")
        if kind == "LI" and parent_type != "L":
            report.add(where, f"list item inside /{parent_type}")
        page = elem.get("/Pg")
        kids = elem.get("/K")
        if kids is None:
            kids = []
        elif not isinstance(kids, pikepdf.Array):
            kids = [kids]
        children = []
        for kid in kids:
            if isinstance(kid, int):
                if page is None:
                    report.add(where, "MCID without /Pg")
                    continue
                tree_mcids.setdefault((page_index.get(ref(page)), int(kid)), []).append(elem)
            elif isinstance(kid, pikepdf.Dictionary):
                t = kid.get("/Type")
                if t == Name.MCR:
                    pg = kid.get("/Pg", page)
                    tree_mcids.setdefault((page_index.get(ref(pg)) if pg is not None else None, int(kid.MCID)), []).append(elem)
                elif t == Name.OBJR:
                    tree_objrs.setdefault(ref(kid.Obj), []).append(elem)
                else:
                    children.append(kid)
        if kind == "Table" and not has_descendant(elem, "TH", standard):
            report.add(where, "table without header cells (TH)")
        for child in children:
            walk(child, kind)

    kids = root.get("/K")
    for elem in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
        walk(elem, "StructTreeRoot")

    previous = 0
    for level, where in headings:
        if previous == 0 and level != 1:
            report.add(where, f"first heading is H{level}, not H1")
        elif level > previous + 1 and previous:
            report.add(where, f"heading skips from H{previous} to H{level}")
        previous = level

    parent_tree = number_tree(root.ParentTree, {}) if "/ParentTree" in root else {}
    if "/ParentTree" not in root:
        report.add("structure tree root", "no /ParentTree")
    for p, page in enumerate(pdf.pages):
        where = f"page {p + 1}"
        mcids = marked.get(p, {})
        key = page.obj.get("/StructParents")
        if mcids and key is None:
            report.add(where, "marked content but no /StructParents")
        entry = parent_tree.get(int(key)) if key is not None else None
        for mcid in mcids if key is not None else []:
            elems = tree_mcids.get((p, mcid), [])
            if not elems:
                report.add(where, f"MCID {mcid} belongs to no structure element")
            if len(elems) > 1:
                report.add(where, f"MCID {mcid} claimed by {len(elems)} structure elements")
            if entry is None or mcid >= len(entry) or ref(entry[mcid]) not in [ref(e) for e in elems]:
                report.add(where, f"/ParentTree entry for MCID {mcid} does not name its element")
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") in (Name.Popup,):
                continue
            awhere = f"{where}, annotation object {ref(annot)}"
            sp = annot.get("/StructParent")
            elems = tree_objrs.get(ref(annot), [])
            if sp is None or not elems:
                report.add(awhere, "annotation not in the structure tree")
                continue
            target = parent_tree.get(int(sp))
            if target is None or ref(target) not in [ref(e) for e in elems]:
                report.add(awhere, "/ParentTree entry does not name the annotation's element")
            if annot.get("/Subtype") == Name.Link and standard(name(elems[0].get("/S"))) != "Link":
                report.add(awhere, "link annotation outside a Link element")
            contents = annot.get("/Contents")
            alt = elems[0].get("/Alt")
            if (contents is None or not str(contents).strip()) and alt is None:
                report.add(awhere, "annotation without /Contents")
    for (p, mcid), elems in tree_mcids.items():
        if p is None or mcid not in marked.get(p, {}):
            report.add(f"page {p + 1 if p is not None else '?'}", f"structure element {ref(elems[0])} names MCID {mcid}, not on the page")


def has_descendant(elem, kind, standard):
    stack = [elem]
    while stack:
        e = stack.pop()
        kids = e.get("/K")
        kids = kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        for kid in kids:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                if standard(name(kid.S)) == kind:
                    return True
                stack.append(kid)
    return False


def check(path):
    report = Report(path)
    with pikepdf.open(path) as pdf:
        check_catalog(pdf, report)
        check_fonts(pdf, report)
        marked = check_content(pdf, report)
        check_structure(pdf, marked, report)
    return report.problems


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    problems = []
    for path in paths:
        try:
            problems.extend(check(path))
        except (pikepdf.PdfError, OSError) as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
