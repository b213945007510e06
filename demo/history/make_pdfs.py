#!/usr/bin/env python3
"""Writes the demo history's legacy PDFs (fictitious, marked as demo in their text).

They stand for reports as cities e-mailed them before the system existed, so they are made
outside the project's renderer: plain one-page PDFs in Helvetica (WinAnsi), and one "scan" (an
image, no text layer) to show the archive's note for a PDF without extractable text. Run from
this directory: python3 make_pdfs.py
"""
import zlib

LABEL = "DEMONSTRATION - fictitious legacy report made for the MMR system's demo history."


def pdf(objects, info):
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    objects = objects + [info]
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref)
    return bytes(out)


def esc(line):
    return line.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def stream(data, extra=b""):
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def info(title):
    return b"<< /Title (" + esc(title) + b") /Subject (" + esc(LABEL) + b") /Producer (demo/history/make_pdfs.py) >>"


def text_pdf(title, lines):
    ops = [b"BT /F1 16 Tf 56 780 Td (" + esc(title) + b") Tj /F1 10 Tf 0 -28 Td 14 TL"]
    for line in [LABEL, ""] + lines:
        ops.append(b"(" + esc(line) + b") '")
    ops.append(b"ET")
    content = b"\n".join(ops)
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ], info(title))


def scan_pdf(title):
    # A grey page with dark bars where lines of type would be: what a scanner gives, no text.
    w, h = 124, 176
    rows = bytearray()
    for y in range(h):
        for x in range(w):
            inked = 14 <= x < w - 14 and 20 <= y < h - 20 and y % 6 < 2 and (x * 7 + y) % 23 > 2
            rows.append(60 if inked else 235)
    image = zlib.compress(bytes(rows), 9)
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
        stream(content),
        stream(image, b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
               b"/BitsPerComponent 8 /Filter /FlateDecode" % (w, h)),
    ], info(title))


REPORTS = {
    "edinburgh-2012.pdf": ("Edinburgh, City of Literature - Membership Monitoring Report 2008-2012", [
        "1. Executive summary",
        "Edinburgh reports on its second round of membership: a reading campaign on the city's",
        "buses, translation bursaries and a poetry exchange with Melbourne and Iowa City.",
        "2. Local initiatives",
        "Words on the Street brought verse to bus shelters across every ward of the city.",
        "3. Inter-city initiatives",
        "A translation residency hosted four writers from sister Cities of Literature.",
    ]),
    "edinburgh-2016.pdf": ("Edinburgh, City of Literature - Membership Monitoring Report 2012-2016", [
        "1. Executive summary",
        "A lighthouse library of pamphlets toured the harbour towns; the Literary Salon",
        "programme met monthly with librarians from Krakow and Dublin.",
        "2. Action plan 2016-2020",
        "Extend the pamphlet library to school holidays; open a residency for young critics.",
    ]),
    "montreal-2018.pdf": ("Montréal, Ville UNESCO de design - Rapport de suivi 2014-2018", [
        "1. Résumé",
        "Montréal présente ses concours de design urbain, un atelier de mobilier public et",
        "des échanges d'étudiants avec Saint-Étienne et Puebla.",
        "2. Initiatives locales",
        "Le concours des placettes a réaménagé neuf coins de rue avec les habitants.",
    ]),
}


if __name__ == "__main__":
    for name, (title, lines) in REPORTS.items():
        with open(name, "wb") as f:
            f.write(text_pdf(title, lines))
    with open("berlin-2021-scan.pdf", "wb") as f:
        f.write(scan_pdf("Berlin, City of Design - Membership Monitoring Report 2017-2021 (scan)"))
