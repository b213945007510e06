//! The whole document: cover, contents (dot leaders to the page numbers), the
//! report and the action plan (each from a new page, with its own title page when
//! both are present; footnotes at the foot of the page of their first reference,
//! numbered through the whole document), the report's appendix after both (see
//! [`appendix_range`]), then the running header and footer. Contents page numbers need the number of contents pages,
//! so the contents are laid out twice: once to count its pages (the number
//! column has a fixed width, so the count cannot change), once with the numbers.
//!
//! The body is laid out first and its pages go to the caller's sink as the flow
//! finishes them; the cover, the contents and every page's running header and footer
//! ("page X of Y" needs the total) are laid out once the body is complete and returned
//! in the [`LaidOut`], with the heading anchors that links to later headings need.

use super::super::check::Matcher;
use super::super::fonts::{FontSet, REGULAR};
use super::super::images::Images;
use super::super::meta::{DocumentMeta, Status};
use super::super::structure::{Artifact, Kind, LAYOUT, NodeId, Scope, StructTree, Tag};
use super::super::template::{Rgb, Template};
use super::super::tree::{self, Block, Document, Inline, LinkTarget, plain_text};
use super::super::{Limits, RenderError, Warning, WarningCode};
use super::blocks::{Ctx, Env, Turned, plain};
use super::flow::{Flow, Frame, Row, Sink};
use super::text::{AlignMode, TextEngine};
use super::{Dest, Item, LaidOut, Mm, OutlineEntry, Page, PlacedGlyph, Rect, Target, TextItem, note_ref_anchor};

/// What the layout needs from the request.
pub(crate) struct Input<'a> {
    pub report: &'a Document,
    pub action_plan: Option<&'a Document>,
    pub meta: &'a DocumentMeta,
    pub template: &'a Template,
    pub images: &'a Images,
    pub source_sha: &'a str,
    pub limits: &'a Limits,
}

struct Geometry {
    width: f32,
    height: f32,
    left: f32,
    /// Left edge of the block a wide table may spread over, symmetric on the page.
    wide_left: f32,
    text_width: f32,
    top: f32,
    bottom: f32,
}

impl Geometry {
    /// The same page turned a quarter (width and height swapped), with the same margins.
    fn turned(&self) -> Geometry {
        let right = self.width - self.left - self.text_width;
        Geometry {
            width: self.height,
            height: self.width,
            left: self.left,
            wide_left: self.wide_left,
            text_width: self.height - self.left - right,
            top: self.top,
            bottom: self.width - (self.height - self.bottom),
        }
    }

    /// Where a table too wide for the measure may spread (see [`Ctx::breakout`]).
    fn breakout(&self) -> (f32, f32, f32) {
        (self.left, self.wide_left, self.width - 2.0 * self.wide_left)
    }

    /// Body text across the text block: no spacing above blocks, not justified.
    fn text_env(&self, t: &Template) -> Env {
        Env {
            x: self.left,
            width: self.text_width,
            size: t.sizes.body,
            colour: t.colours.text,
            list_depth: 0,
            spacing: 0.0,
            justify: false,
        }
    }
}

/// The margin, in millimetres, a table too wide for the measure may spread out to.
const WIDE_MARGIN_MM: f32 = 20.0;

/// Lay out the whole document, handing each body page to `sink` as soon as it is finished
/// (the body's first page is the document's page `1 + ` the number of contents pages, which
/// [`LaidOut::front`] tells at the end).
pub(crate) fn lay_out(
    input: &Input<'_>,
    fonts: &FontSet<'_>,
    warnings: &mut Vec<Warning>,
    sink: Sink<'_>,
) -> Result<LaidOut, RenderError> {
    let t = input.template;
    let (width, height) = t.page.size.points();
    let left = Mm(t.page.margin_left_mm).pt();
    let g = Geometry {
        width,
        height,
        left,
        wide_left: Mm(WIDE_MARGIN_MM).pt().min(left).min(Mm(t.page.margin_right_mm).pt()),
        text_width: width - left - Mm(t.page.margin_right_mm).pt(),
        top: Mm(t.page.margin_top_mm).pt(),
        bottom: height - Mm(t.page.margin_bottom_mm).pt(),
    };
    let frame = Frame { top: g.top, bottom: g.bottom };
    let turned = g.turned();
    let mut ctx = Ctx {
        engine: TextEngine::new(fonts, &input.meta.language),
        template: t,
        images: input.images,
        warnings,
        links: Vec::new(),
        part_prefix: String::new(),
        next_dest: 0,
        outline: Vec::new(),
        anchors: Default::default(),
        max_figure_height: (g.bottom - g.top) * 0.8,
        breakout: g.breakout(),
        landscape: Some(Turned { x: turned.left, width: turned.text_width, breakout: turned.breakout() }),
        tree: StructTree::new(&input.meta.language),
        parent: NodeId::default(),
    };
    // The cover and the contents are laid out last, but read first: their sections
    // are made now.
    let root = ctx.tree.root();
    ctx.parent = root;
    let cover_sect = ctx.add(Kind::Sect);
    let contents_sect = ctx.add(Kind::Sect);
    // The template's own words (cover, contents title, part titles) are in its language,
    // which may not be the report's.
    ctx.tree.set_lang(cover_sect, t.language());
    let env = Env { spacing: t.sizes.paragraph_spacing, justify: true, ..g.text_env(t) };

    // Body: the parts, each from a new page, then the report's appendix.
    let appendix = appendix_range(&input.report.blocks, t);
    let report_blocks: Vec<&[Block]> = match &appendix {
        Some(r) => vec![&input.report.blocks[..r.start], &input.report.blocks[r.end..]],
        None => vec![&input.report.blocks],
    };
    let mut parts: Vec<(&Document, &str)> = vec![(input.report, t.texts.part_report.as_str())];
    if let Some(plan) = input.action_plan {
        parts.push((plan, t.texts.part_action_plan.as_str()));
    }
    let titled = parts.len() > 1;
    // The orientation of each body page handed over, for its running header and footer.
    let mut body_landscape = Vec::new();
    let mut body_sink = |page: Page, tree: &StructTree| {
        body_landscape.push(page.landscape);
        sink(page, tree)
    };
    let mut body = Flow::new(frame, input.limits.max_pages, 1, &mut body_sink)
        .with_landscape(Frame { top: turned.top, bottom: turned.bottom });
    let mut note_refs: Vec<(usize, usize)> = Vec::new();
    // The report's notes only its appendix refers to are tagged in the appendix, where they are.
    let appendix_notes: Vec<usize> = appendix.as_ref().map_or_else(Vec::new, |r| {
        let body = tree::note_refs(report_blocks.iter().flat_map(|b| b.iter()));
        tree::note_refs(input.report.blocks[r.clone()].iter()).into_iter().filter(|n| !body.contains(n)).collect()
    });
    let mut appendix_nodes = Vec::new();
    for (k, (doc, title)) in parts.iter().enumerate() {
        if k > 0 {
            body.break_page(&ctx.tree)?;
        }
        let part = ctx.tree.add(root, Kind::Part);
        ctx.parent = part;
        ctx.part_prefix = format!("p{k}");
        ctx.links = part_links(doc, k);
        if titled {
            let rows = part_title(&mut ctx, title, &env, g.bottom - g.top);
            body.push_all(rows, &ctx.tree)?;
            body.break_page(&ctx.tree)?;
        }
        let (notes, note_nodes) = ctx.notes(&doc.footnotes, &env);
        note_refs.extend(notes.iter().map(|(n, note)| (*n, note.ref_dest)));
        body.add_notes(notes, ctx.note_separator(&env));
        let blocks = if k == 0 { report_blocks.clone() } else { vec![doc.blocks.as_slice()] };
        for blocks in blocks {
            ctx.each_block(blocks, &env, |rows, tree| body.push_all(rows, tree))?;
        }
        // The report's appendix, still to come, may reference its notes.
        if k > 0 || appendix.is_none() {
            close_notes(&mut ctx, &mut body, doc, &env)?;
        }
        for (note, node) in doc.footnotes.iter().zip(note_nodes) {
            if k == 0 && appendix_notes.contains(&note.number) {
                appendix_nodes.push(node);
            } else {
                ctx.tree.attach(part, node);
            }
        }
        for label in &doc.undefined_footnotes {
            ctx.warnings.push(Warning::new(
                WarningCode::UndefinedFootnote,
                format!("footnote [^{label}] is referenced but never defined"),
            ));
        }
        for dest in &doc.dropped_links {
            ctx.warnings.push(Warning::new(
                WarningCode::LinkDropped,
                format!("link target {dest:?} is not http(s), mailto or a heading; shown as plain text"),
            ));
        }
    }
    if let Some(range) = appendix {
        body.break_page(&ctx.tree)?;
        let sect = ctx.tree.add(root, Kind::Sect);
        ctx.parent = sect;
        ctx.part_prefix = "p0".to_string();
        ctx.links = part_links(input.report, 0);
        let first_entry = ctx.outline.len();
        ctx.each_block(&input.report.blocks[range], &env, |rows, tree| body.push_all(rows, tree))?;
        close_notes(&mut ctx, &mut body, input.report, &env)?;
        for node in appendix_nodes {
            ctx.tree.attach(sect, node);
        }
        // Beside the parts' titles in the outline and the contents, not inside Part II.
        if titled {
            let shift = ctx.outline.get(first_entry).map_or(0, |e| e.level);
            for e in &mut ctx.outline[first_entry..] {
                e.level = e.level.saturating_sub(shift);
            }
        }
    }
    let body_dests = body.finish(&ctx.tree)?;
    // A note whose reference was never placed has nothing to link back to.
    for (n, dest) in note_refs {
        if body_dests.get(dest).copied().flatten().is_none() {
            ctx.anchors.remove(&note_ref_anchor(n));
        }
    }

    // Contents: count pages first, then lay out with the real numbers.
    let contents_dest = ctx.new_dest();
    let depth = t.toc_depth;
    let entries: Vec<OutlineEntry> = ctx.outline.iter().filter(|e| e.level <= depth).cloned().collect();
    ctx.parent = contents_sect;
    let measured = ctx.tree.len();
    let (probe, _) = contents(&mut ctx, &entries, contents_dest, None, &g, input.limits)?;
    ctx.tree.truncate(measured);
    let toc_count = probe.len();
    let first_body = 1 + toc_count;
    let numbers: Vec<usize> = entries
        .iter()
        .map(|e| body_dests.get(e.dest).copied().flatten().map_or(first_body + 1, |d| first_body + d.page + 1))
        .collect();
    let (toc_pages, toc_dests) = contents(&mut ctx, &entries, contents_dest, Some(&numbers), &g, input.limits)?;

    let mut front = Vec::with_capacity(1 + toc_pages.len());
    ctx.parent = cover_sect;
    front.push(cover(&mut ctx, input, &g));
    front.extend(toc_pages);
    if front.len() + body_landscape.len() > input.limits.max_pages {
        return Err(RenderError::TooManyPages { limit: input.limits.max_pages });
    }

    let mut dests = vec![Dest { page: 0, y: g.top }; ctx.next_dest];
    for (id, d) in body_dests.into_iter().enumerate() {
        if let (Some(d), Some(slot)) = (d, dests.get_mut(id)) {
            *slot = Dest { page: d.page + first_body, y: d.y };
        }
    }
    for (id, d) in toc_dests.into_iter().enumerate() {
        if let (Some(d), Some(slot)) = (d, dests.get_mut(id)) {
            *slot = Dest { page: d.page + 1, y: d.y };
        }
    }

    let orientations: Vec<bool> = front.iter().map(|p| p.landscape).chain(body_landscape).collect();
    let running = running_header_footer(&mut ctx, input, &g, &orientations);
    ctx.report_missing();

    let mut outline = vec![OutlineEntry { level: 0, title: t.texts.contents.clone(), dest: contents_dest }];
    let shift = if titled { 0 } else { 1 };
    outline.extend(
        ctx.outline.iter().map(|e| OutlineEntry {
            level: e.level.saturating_sub(shift).max(if titled { 0 } else { 1 }),
            ..e.clone()
        }),
    );
    Ok(LaidOut {
        width: g.width,
        height: g.height,
        front,
        running,
        dests,
        outline,
        anchors: ctx.anchors,
        structure: ctx.tree,
    })
}

/// The key of the template section that holds a report's appendices.
const APPENDICES: &str = "appendices";

/// Where the report's appendix is among its blocks: from the heading of the template's
/// appendices section (section 7, which the guidelines put in the report) to the next
/// heading of a section not numbered under it. Its subsections and the headings of no
/// section ("Annex A") stay in it. It is laid out after both parts, as an appendix is read:
/// in the report's place it would sit between Part I and Part II.
pub(crate) fn appendix_range(blocks: &[Block], template: &Template) -> Option<std::ops::Range<usize>> {
    let sections = template.sections();
    let matcher = Matcher::new(sections);
    let section = |block: &Block| match block {
        Block::Heading { content, .. } => matcher.find(&plain_text(content)).map(|k| &sections[k]),
        _ => None,
    };
    let (start, appendices) =
        blocks.iter().enumerate().find_map(|(k, b)| section(b).filter(|s| s.key == APPENDICES).map(|s| (k, s)))?;
    let under = format!("{}.", appendices.number);
    let end = blocks[start + 1..]
        .iter()
        .position(|b| section(b).is_some_and(|s| !s.number.starts_with(&under)))
        .map_or(blocks.len(), |k| start + 1 + k);
    Some(start..end)
}

/// A part's links, their anchors prefixed with the part (`p0:`) as its headings' are.
fn part_links(doc: &Document, k: usize) -> Vec<LinkTarget> {
    doc.links
        .iter()
        .map(|l| match l {
            LinkTarget::Anchor(a) => LinkTarget::Anchor(format!("p{k}:{a}")),
            LinkTarget::PartAnchor(j, a) => LinkTarget::Anchor(format!("p{j}:{a}")),
            other => other.clone(),
        })
        .collect()
}

/// The notes of `doc` its text never references (unused definitions, notes referenced
/// only from another note) close it.
fn close_notes(ctx: &mut Ctx<'_, '_, '_>, body: &mut Flow<'_>, doc: &Document, env: &Env) -> Result<(), RenderError> {
    let (Some(first), Some(last)) = (doc.footnotes.first(), doc.footnotes.last()) else { return Ok(()) };
    let unplaced = body.take_unplaced(first.number..=last.number);
    if !unplaced.is_empty() {
        body.push(ctx.note_separator(env), &ctx.tree)?;
        for (_, note) in unplaced {
            body.push_all(note.rows, &ctx.tree)?;
        }
    }
    Ok(())
}

/// A part's title page: the title centred a third of the way down, between two
/// short rules, so a part never looks like the chapter heading after it.
fn part_title(ctx: &mut Ctx<'_, '_, '_>, title: &str, env: &Env, frame_height: f32) -> Vec<Row> {
    let size = ctx.template.sizes.headings[0] * 1.5;
    let penv = Env { size, ..*env };
    let mut style = ctx.text_style(&penv);
    style.bold = true;
    style.colour = ctx.template.colours.accent;
    style.line_height = 1.3;
    let node = ctx.add(Kind::H(1));
    ctx.tree.set_lang(node, ctx.template.language());
    let mut rows = ctx.text_rows(&[plain(title.to_string())], &penv, &style, AlignMode::Center, Tag::Node(node));
    let dest = ctx.new_dest();
    ctx.outline.push(OutlineEntry { level: 0, title: title.to_string(), dest });
    let rule = |y: f32| Item::Line {
        x1: env.x + env.width / 3.0,
        y1: y,
        x2: env.x + env.width * 2.0 / 3.0,
        y2: y,
        width: 1.2,
        colour: ctx.template.colours.accent,
        tag: LAYOUT,
    };
    if let Some(first) = rows.first_mut() {
        first.anchor = Some(dest);
    }
    let mut spacer = Row { height: frame_height * 0.3, ..Row::default() };
    spacer.items.push(rule(spacer.height - size * 0.5));
    if let Some(last) = rows.last_mut() {
        last.height += size * 0.5;
        last.items.push(rule(last.height));
    }
    let mut out = vec![spacer];
    out.extend(rows);
    for r in &mut out {
        r.keep_with_next = true;
    }
    out
}

type Pages = (Vec<Page>, Vec<Option<Dest>>);

fn contents(
    ctx: &mut Ctx<'_, '_, '_>,
    entries: &[OutlineEntry],
    contents_dest: usize,
    numbers: Option<&[usize]>,
    g: &Geometry,
    limits: &Limits,
) -> Result<Pages, RenderError> {
    let t = ctx.template;
    let mut pages = Vec::new();
    let mut sink = |page: Page, _: &StructTree| {
        pages.push(page);
        Ok(())
    };
    let mut flow = Flow::new(Frame { top: g.top, bottom: g.bottom }, limits.max_pages, 1, &mut sink);
    let env = g.text_env(t);
    let hsize = t.sizes.headings[0];
    let henv = Env { size: hsize, ..env };
    let mut hstyle = ctx.text_style(&henv);
    hstyle.bold = true;
    hstyle.colour = t.colours.heading;
    let heading = ctx.add(Kind::H(1));
    ctx.tree.set_lang(heading, t.language());
    let mut title =
        ctx.text_rows(&[plain(t.texts.contents.clone())], &henv, &hstyle, AlignMode::Left, Tag::Node(heading));
    if let Some(first) = title.first_mut() {
        first.anchor = Some(contents_dest);
        first.height += hsize * 0.6;
    }
    flow.push_all(title, &ctx.tree)?;

    let number_col = env.size * 4.0;
    let min_level = entries.iter().map(|e| e.level).min().unwrap_or(0);
    let indent_step = env.size * 1.5;
    let toc = ctx.add(Kind::Toc);
    for (k, e) in entries.iter().enumerate() {
        let depth = e.level.saturating_sub(min_level) as f32;
        let top_level = e.level <= min_level;
        let eenv = Env { x: env.x + depth * indent_step, width: env.width - depth * indent_step - number_col, ..env };
        let mut style = ctx.text_style(&eenv);
        style.bold = top_level;
        style.line_height = 1.3;
        // An entry is a link to its heading: its title and page number.
        let item = ctx.tree.add(toc, Kind::Toci);
        let tag = Tag::Node(ctx.tree.add(item, Kind::Link));
        let mut rows = ctx.text_rows(&[plain(e.title.clone())], &eenv, &style, AlignMode::Left, tag);
        if rows.is_empty() {
            continue;
        }
        let number = numbers.and_then(|n| n.get(k)).map_or_else(|| "000".to_string(), |n| n.to_string());
        let nenv = Env { x: env.x + env.width - number_col, width: number_col, ..env };
        let num_rows = ctx.text_rows(&[plain(number)], &nenv, &style, AlignMode::Right, tag);
        let n = rows.len();
        if let (Some(last), Some(num)) = (rows.last_mut(), num_rows.into_iter().next()) {
            let dy = last.baseline - num.baseline;
            let from = text_right(&last.items);
            let to = text_left(&num.items);
            // The leaders between title and number, also in drawing order, so the two read apart.
            if let (Some(from), Some(to)) = (from, to) {
                last.items.extend(leaders(ctx, from, to, last.baseline, env.size, t.colours.muted));
            }
            for mut it in num.items {
                it.translate(0.0, dy);
                last.items.push(it);
            }
        }
        for (i, r) in rows.iter_mut().enumerate() {
            r.keep_with_next = i + 1 < n;
            r.items.push(Item::Link {
                rect: Rect { x: env.x, y: 0.0, w: env.width, h: r.height },
                target: Target::Dest(e.dest),
                tag,
            });
        }
        if let Some(first) = rows.first_mut() {
            first.space_before = if top_level { env.size * 0.6 } else { env.size * 0.1 };
        }
        flow.push_all(rows, &ctx.tree)?;
    }
    let dests = flow.finish(&ctx.tree)?;
    Ok((pages, dests))
}

/// Right edge of the text items of a row.
fn text_right(items: &[Item]) -> Option<f32> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Text(t) => Some(t.x + t.glyphs.iter().map(|g| g.advance).sum::<f32>()),
            _ => None,
        })
        .reduce(f32::max)
}

/// Left edge of the text items of a row.
fn text_left(items: &[Item]) -> Option<f32> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Text(t) => Some(t.x),
            _ => None,
        })
        .reduce(f32::min)
}

/// Dot leaders from `from` to `to` on a baseline: dots on a grid shared by every
/// line, so they stand in columns, with a gap at either end.
fn leaders(ctx: &mut Ctx<'_, '_, '_>, from: f32, to: f32, baseline: f32, size: f32, colour: Rgb) -> Option<Item> {
    let shaped = ctx.engine.shaper.shape(REGULAR, ".");
    let glyph = shaped.runs.first().and_then(|r| r.glyphs.first()).copied()?;
    let step = size * 0.55;
    let first = ((from + size * 0.4) / step).ceil() * step;
    let count = ((to - size * 0.4 - first) / step).floor();
    if count < 2.0 {
        return None;
    }
    let count = count as usize;
    let glyphs = (0..count)
        .map(|k| PlacedGlyph {
            gid: glyph.gid,
            advance: step,
            x_offset: 0.0,
            y_offset: 0.0,
            text_start: k as u32,
            text_end: k as u32 + 1,
        })
        .collect();
    Some(Item::Text(TextItem {
        x: first,
        y: baseline,
        font: REGULAR,
        size,
        colour,
        glyphs,
        text: ".".repeat(count),
        tag: LAYOUT,
        reversed: false,
    }))
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in values {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

fn status_text(t: &Template, status: &Status) -> String {
    match status {
        Status::Draft => t.texts.status_draft.clone(),
        Status::Submitted => t.texts.status_submitted.clone(),
        Status::Accepted { date } => t.texts.status_accepted.replace("{date}", &date.to_string()),
    }
}

/// Place rows of text at `y` on a page; returns the height they took.
fn put_rows(page: &mut Page, rows: Vec<Row>, y: f32) -> f32 {
    let mut h = 0.0;
    for row in rows {
        for mut it in row.items {
            it.translate(0.0, y + h);
            page.items.push(it);
        }
        h += row.height;
    }
    h
}

/// The cover uses the whole page: the network at the top, the title block (title, city,
/// field) a quarter of the way down, and the facts as a ruled two-column table standing on
/// the bottom margin. A fact that repeats another (a version that is just the status) is
/// left out, and so is an empty or unknown one ("—"). Without a city (`mmr render --title`), the title
/// takes the city's place.
fn cover(ctx: &mut Ctx<'_, '_, '_>, input: &Input<'_>, g: &Geometry) -> Page {
    let t = ctx.template;
    let m = input.meta;
    let status = status_text(t, &m.status);
    let submitted = m.submission_date.map_or_else(|| "—".to_string(), |d| d.to_string());
    let sha = input.source_sha.get(..16).unwrap_or(input.source_sha).to_string();
    let values: Vec<(&str, &str)> = vec![
        ("city", &m.city),
        ("country", &m.country),
        ("field", &m.creative_field),
        ("cycle", &m.cycle),
        ("version", &m.version),
        ("submitted", &submitted),
        ("status", &status),
        ("source_sha", &sha),
        ("title", &m.title),
    ];
    let colours = t.colours;
    let env = g.text_env(t);
    let mut page = Page::default();
    // Each line of the cover is a paragraph of its own, the title its heading.
    let text = |ctx: &mut Ctx<'_, '_, '_>, kind, s: String, size: f32, bold: bool, colour| {
        let e = Env { size, ..env };
        let mut style = ctx.text_style(&e);
        style.bold = bold;
        style.colour = colour;
        style.line_height = 1.25;
        let node = ctx.add(kind);
        ctx.text_rows(&[plain(s)], &e, &style, AlignMode::Center, Tag::Node(node))
    };
    let kicker = text(ctx, Kind::P, fill(&t.texts.cover_kicker, &values), t.sizes.body * 1.1, false, colours.muted);
    put_rows(&mut page, kicker, g.top);

    let mut y = g.top + (g.bottom - g.top) * 0.24;
    let (heading, name) = if m.city.is_empty() {
        (None, m.title.clone())
    } else {
        (Some(fill(&t.texts.cover_title, &values)), m.city.clone())
    };
    if let Some(heading) = heading {
        let rows = text(ctx, Kind::H(1), heading, t.sizes.cover_title, true, colours.heading);
        y += put_rows(&mut page, rows, y) + 16.0;
    }
    let rows = text(ctx, Kind::P, name, t.sizes.cover_city, true, colours.accent);
    y += put_rows(&mut page, rows, y) + 10.0;
    if !m.creative_field.is_empty() {
        let subtitle = fill(&t.texts.cover_subtitle, &values);
        let rows = text(ctx, Kind::P, subtitle, t.sizes.body * 1.3, false, colours.text);
        y += put_rows(&mut page, rows, y);
    }
    y += 20.0;
    page.items.push(Item::Line {
        x1: g.left + g.text_width * 0.35,
        y1: y,
        x2: g.left + g.text_width * 0.65,
        y2: y,
        width: 1.2,
        colour: colours.accent,
        tag: LAYOUT,
    });

    // The facts, laid out first to know their height, then set on the bottom margin.
    let (x, width) = (g.left + g.text_width * 0.1, g.text_width * 0.8);
    let label_w = width * 0.38;
    let pad = 5.0;
    // The facts are a table of rows headed by their labels.
    let table = ctx.add(Kind::Table);
    let mut facts: Vec<(Vec<Row>, Vec<Row>, f32)> = Vec::new();
    for (label, value) in &t.texts.cover_fields {
        let says_status = value.contains("{status}");
        // A draft has no version of its own: its status says what it is.
        let draft_version = value.contains("{version}") && m.status == Status::Draft;
        let value = fill(value, &values);
        let value_said = value.trim();
        if value_said.is_empty()
            || value_said == "—"
            || draft_version
            || (!says_status && value_said.eq_ignore_ascii_case(status.trim()))
        {
            continue;
        }
        let lenv = Env { x, width: label_w, ..env };
        let venv = Env { x: x + label_w, width: width - label_w, ..env };
        let mut lstyle = ctx.text_style(&lenv);
        lstyle.colour = colours.muted;
        let vstyle = ctx.text_style(&venv);
        let tr = ctx.tree.add(table, Kind::TR);
        let th = Tag::Node(ctx.tree.add(tr, Kind::TH(Scope::Row)));
        let td = Tag::Node(ctx.tree.add(tr, Kind::TD));
        let lrows = ctx.text_rows(&[plain(label.clone())], &lenv, &lstyle, AlignMode::Left, th);
        let vrows = ctx.text_rows(&[plain(value)], &venv, &vstyle, AlignMode::Left, td);
        let h = lrows.iter().map(|r| r.height).sum::<f32>().max(vrows.iter().map(|r| r.height).sum()) + 2.0 * pad;
        facts.push((lrows, vrows, h));
    }
    let mut y = g.bottom - facts.iter().map(|f| f.2).sum::<f32>();
    let rule =
        |y: f32, w: f32| Item::Line { x1: x, y1: y, x2: x + width, y2: y, width: w, colour: colours.rule, tag: LAYOUT };
    for (k, (lrows, vrows, h)) in facts.into_iter().enumerate() {
        page.items.push(rule(y, if k == 0 { 0.9 } else { 0.4 }));
        put_rows(&mut page, lrows, y + pad);
        put_rows(&mut page, vrows, y + pad);
        y += h;
    }
    page.items.push(rule(y, 0.9));
    page
}

/// The running header and footer of every page but the cover, one page of them for each
/// of the document's pages (`landscape` gives their orientations).
fn running_header_footer(ctx: &mut Ctx<'_, '_, '_>, input: &Input<'_>, g: &Geometry, landscape: &[bool]) -> Vec<Page> {
    let t = ctx.template;
    let total = landscape.len().to_string();
    let m = input.meta;
    // Without a city the title says it all; the template's wording would repeat it.
    let header = if m.city.is_empty() {
        m.title.clone()
    } else {
        let header = fill(&t.texts.header, &[("city", &m.city), ("cycle", &m.cycle), ("title", &m.title)]);
        header.trim().trim_end_matches('—').trim().to_string()
    };
    let size = t.sizes.header_footer;
    let env = Env {
        x: g.left,
        width: g.text_width,
        size,
        colour: t.colours.muted,
        list_depth: 0,
        spacing: 0.0,
        justify: false,
    };
    let style = ctx.text_style(&env);
    let header_rows: Vec<Row> =
        ctx.text_rows(&[plain(header)], &env, &style, AlignMode::Left, Tag::Artifact(Artifact::Header));
    let header_y = g.top - size * 2.6;
    let rule = t.colours.rule;
    let footer_template = t.texts.footer.clone();
    let turned = g.turned();
    let mut pages: Vec<Page> = landscape.iter().map(|&landscape| Page { landscape, ..Page::default() }).collect();
    for (k, page) in pages.iter_mut().enumerate().skip(1) {
        // A landscape page's header and footer run across its own width.
        let g = if page.landscape { &turned } else { g };
        let env = Env { x: g.left, width: g.text_width, ..env };
        let mut y = header_y;
        for row in header_rows.iter().take(2) {
            for it in &row.items {
                let mut it = it.clone();
                it.translate(0.0, y);
                page.items.push(it);
            }
            y += row.height;
        }
        page.items.push(Item::Line {
            x1: g.left,
            y1: y + 1.5,
            x2: g.left + g.text_width,
            y2: y + 1.5,
            width: 0.4,
            colour: rule,
            tag: Tag::Artifact(Artifact::Header),
        });
        let footer = fill(&footer_template, &[("page", &(k + 1).to_string()), ("pages", &total)]);
        let footer_inl: Vec<Inline> = vec![plain(footer)];
        let rows = ctx.text_rows(&footer_inl, &env, &style, AlignMode::Center, Tag::Artifact(Artifact::Footer));
        let mut y = g.bottom + size * 2.2;
        for row in rows {
            for mut it in row.items {
                it.translate(0.0, y);
                page.items.push(it);
            }
            y += row.height;
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::images::Images;
    use crate::render::markdown;

    /// The body's pages reach the sink while the layout is still going on: the structure
    /// tree the first page comes with is smaller than the one the last comes with, and the
    /// pages handed over are the body's, numbered after the cover and contents.
    #[test]
    fn body_pages_reach_the_sink_before_the_last_is_laid_out() {
        let template = Template::builtin();
        let fonts = FontSet::load(&template).expect("fonts");
        let limits = Limits::default();
        let meta = DocumentMeta::for_city("Medellín");
        let paragraph = "Words of a paragraph that the flow sets on one page after another. ".repeat(20);
        let markdown: String = (1..=12).map(|k| format!("## Section {k}\n\n{paragraph}\n\n{paragraph}\n\n")).collect();
        let report = markdown::parse(&markdown, &limits).expect("parses");
        let images = Images::default();
        let input = Input {
            report: &report,
            action_plan: None,
            meta: &meta,
            template: &template,
            images: &images,
            source_sha: "0",
            limits: &limits,
        };
        // The number of elements of the tree when each page was handed over.
        let mut handed = Vec::new();
        let mut sink = |_: Page, tree: &StructTree| {
            handed.push(tree.len());
            Ok(())
        };
        let mut warnings = Vec::new();
        let laid_out = lay_out(&input, &fonts, &mut warnings, &mut sink).expect("lays out");
        assert!(handed.len() >= 4, "{} body pages", handed.len());
        assert!(handed[0] < handed[handed.len() - 1], "{handed:?}");
        assert_eq!(laid_out.running.len(), laid_out.front.len() + handed.len());
        assert!(laid_out.running[0].items.is_empty(), "the cover has no running header");
        assert!(laid_out.running[1..].iter().all(|p| !p.items.is_empty()));
    }
}
