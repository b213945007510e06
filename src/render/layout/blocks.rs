//! Blocks to rows: headings, paragraphs, code (a wrapped line marked by an
//! arrow in the left padding), quotes, lists, task lists, images, rules and
//! footnotes. Nested blocks are laid out into a narrower column
//! and decorated (quote bars, list markers) afterwards, so every construct is
//! built from the same paragraph engine.

use std::collections::{BTreeMap, HashMap};

use super::super::images::Images;
use super::super::structure::{Kind, LAYOUT, NodeId, StructTree, Tag, Tagger};
use super::super::template::{Rgb, Template};
use super::super::tree::{Block, Footnote, Inline, LinkTarget, ListItem, plain_text};
use super::super::{Warning, WarningCode};
use super::flow::{Note, Row};
use super::text::{AlignMode, Line, TextEngine, TextStyle};
use super::{Item, OutlineEntry, Rect, Target, note_anchor, note_ref_anchor};

/// Where and how a block is laid out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env {
    pub x: f32,
    pub width: f32,
    pub size: f32,
    pub colour: Rgb,
    pub list_depth: usize,
    /// Space above a block that follows another.
    pub spacing: f32,
    /// Justify paragraphs (off in narrow columns).
    pub justify: bool,
}

/// The text block of a landscape page (left edge and width) and its [`Ctx::breakout`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Turned {
    pub x: f32,
    pub width: f32,
    pub breakout: (f32, f32, f32),
}

/// State shared by all blocks of a rendering.
pub(crate) struct Ctx<'a, 'f, 't> {
    pub engine: TextEngine<'f, 't>,
    pub template: &'a Template,
    pub images: &'a Images,
    pub warnings: &'a mut Vec<Warning>,
    /// Links of the part being laid out, anchors already prefixed with the part.
    pub links: Vec<LinkTarget>,
    pub part_prefix: String,
    pub next_dest: usize,
    pub outline: Vec<OutlineEntry>,
    /// Heading slug (prefixed with its part) to destination.
    pub anchors: HashMap<String, usize>,
    /// Largest image height, so a figure always fits on a page.
    pub max_figure_height: f32,
    /// Where a table too wide for the measure may spread: the left edge of the text block
    /// (only a table starting there may), and the left edge and width of the wider block.
    pub breakout: (f32, f32, f32),
    /// The blocks of a landscape page, for a table whose words do not fit side by side on
    /// a portrait one; `None` where there is no such page to turn to.
    pub landscape: Option<Turned>,
    /// The structure tree being built, and the element the blocks being laid out go in.
    pub tree: StructTree,
    pub parent: NodeId,
}

impl Ctx<'_, '_, '_> {
    pub fn new_dest(&mut self) -> usize {
        self.next_dest += 1;
        self.next_dest - 1
    }

    pub fn text_style(&self, env: &Env) -> TextStyle {
        let c = &self.template.colours;
        TextStyle {
            size: env.size,
            line_height: self.template.sizes.line_height,
            colour: env.colour,
            link_colour: c.link,
            code_background: c.code_background,
            placeholder: c.placeholder,
            bold: false,
            italic: false,
            mono: false,
            hyphenate: false,
        }
    }

    /// Lay out inline content as lines of rows at `env.x`, its text tagged `tag` (its
    /// links as `Link` elements inside it).
    pub fn text_rows(
        &mut self,
        inlines: &[Inline],
        env: &Env,
        style: &TextStyle,
        align: AlignMode,
        tag: Tag,
    ) -> Vec<Row> {
        let atoms = self.engine.atoms(inlines, style);
        let mut tagger = Tagger::new(&mut self.tree, tag);
        let lines = self.engine.lines(atoms, env.width, align, style, &self.links, &mut tagger);
        lines_to_rows(lines, env.x)
    }

    /// A new element, last child of the current one.
    pub fn add(&mut self, kind: Kind) -> NodeId {
        self.tree.add(self.parent, kind)
    }

    /// Run `f` with `node` as the element new elements go in.
    pub fn inside<R>(&mut self, node: NodeId, f: impl FnOnce(&mut Self) -> R) -> R {
        let outer = std::mem::replace(&mut self.parent, node);
        let r = f(self);
        self.parent = outer;
        r
    }

    /// Lay out a sequence of blocks.
    pub fn blocks(&mut self, blocks: &[Block], env: &Env) -> Vec<Row> {
        let mut rows = Vec::new();
        let Ok(()) = self.each_block(blocks, env, |block_rows, _| {
            rows.extend(block_rows);
            Ok::<_, std::convert::Infallible>(())
        });
        rows
    }

    /// Lay out a sequence of blocks, handing `take` each block's rows as soon as they are
    /// made, with the structure tree so far (the document's flow places them at once, so a
    /// part's rows are never all held).
    pub fn each_block<E>(
        &mut self,
        blocks: &[Block],
        env: &Env,
        mut take: impl FnMut(Vec<Row>, &StructTree) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut previous_turned = false;
        for (k, block) in blocks.iter().enumerate() {
            // A caption or lead-in goes on its table's landscape page with it.
            let turned = match self.landscape {
                Some(turned) if !matches!(block, Block::Table { .. }) && env.x == self.breakout.0 => {
                    let leads = self.leads_into_turned_table(&blocks[k..], env);
                    let follows = previous_turned && k > 0 && keeps_with_next(&blocks[k - 1], Some(block));
                    (leads || follows).then_some(turned)
                }
                _ => None,
            };
            let mut block_rows = match turned {
                Some(turned) => {
                    let portrait = std::mem::replace(&mut self.breakout, turned.breakout);
                    let mut rows = self.block(block, &Env { x: turned.x, width: turned.width, ..*env });
                    self.breakout = portrait;
                    rows.iter_mut().for_each(|r| r.landscape = true);
                    rows
                }
                None => self.block(block, env),
            };
            previous_turned = block_rows.last().is_some_and(|r| r.landscape);
            if k > 0
                && let Some(first) = block_rows.first_mut()
            {
                first.space_before = first.space_before.max(env.spacing);
            }
            if keeps_with_next(block, blocks.get(k + 1))
                && let Some(last) = block_rows.last_mut()
            {
                last.keep_with_next = true;
            }
            take(block_rows, &self.tree)?;
        }
        Ok(())
    }

    /// Whether the first of `blocks` keeps with the blocks after it up to a table that goes on a
    /// landscape page.
    fn leads_into_turned_table(&mut self, blocks: &[Block], env: &Env) -> bool {
        // A lead-in and a caption at most: no text is looked at unless a table is that near.
        if !blocks.iter().skip(1).take(2).any(|b| matches!(b, Block::Table { .. })) {
            return false;
        }
        let mut k = 0;
        while keeps_with_next(&blocks[k], blocks.get(k + 1)) {
            k += 1;
            if let Block::Table { aligns, header, rows } = &blocks[k] {
                return self.table_turns(aligns, header, rows, env);
            }
        }
        false
    }

    fn block(&mut self, block: &Block, env: &Env) -> Vec<Row> {
        match block {
            Block::Heading { level, content, slug } => self.heading(*level, content, slug, env),
            Block::Paragraph(inlines) => self.paragraph(inlines, env),
            Block::Code(text) => self.code(text, env),
            Block::Quote(blocks) => self.quote(blocks, env),
            Block::List { start, items } => self.list(*start, items, env),
            Block::Table { aligns, header, rows } => self.table(aligns, header, rows, env),
            Block::Rule => {
                let h = env.size * 1.2;
                vec![Row {
                    height: h,
                    items: vec![Item::Line {
                        x1: env.x,
                        y1: h / 2.0,
                        x2: env.x + env.width,
                        y2: h / 2.0,
                        width: 0.7,
                        colour: self.template.colours.rule,
                        tag: LAYOUT,
                    }],
                    ..Row::default()
                }]
            }
        }
    }

    fn heading(&mut self, level: u8, content: &[Inline], slug: &str, env: &Env) -> Vec<Row> {
        let sizes = &self.template.sizes;
        let idx = (level.clamp(1, 6) - 1) as usize;
        let size = sizes.headings[idx];
        let henv = Env { size, ..*env };
        let mut style = self.text_style(&henv);
        style.bold = true;
        style.italic = level >= 5;
        style.colour = self.template.colours.heading;
        style.line_height = 1.25;
        let node = self.add(Kind::H(level));
        let mut rows = self.text_rows(content, &henv, &style, AlignMode::Left, Tag::Node(node));
        let dest = self.new_dest();
        let key = format!("{}:{slug}", self.part_prefix);
        self.anchors.entry(key).or_insert(dest);
        self.outline.push(OutlineEntry { level, title: plain_text(content).trim().to_string(), dest });
        let n = rows.len();
        for (k, r) in rows.iter_mut().enumerate() {
            r.keep_with_next = true;
            if k + 1 == n {
                r.height += size * 0.35;
            }
        }
        if let Some(first) = rows.first_mut() {
            first.anchor = Some(dest);
            first.space_before = size * if level <= 2 { 1.0 } else { 0.8 };
        } else {
            rows.push(Row { height: 1.0, anchor: Some(dest), keep_with_next: true, ..Row::default() });
        }
        rows
    }

    fn paragraph(&mut self, inlines: &[Inline], env: &Env) -> Vec<Row> {
        let mut style = self.text_style(env);
        style.hyphenate = env.justify;
        let align = if env.justify { AlignMode::Justify } else { AlignMode::Left };
        // A paragraph of images alone is its figures; one with text is a `P` with its
        // figures inside.
        let texts = inlines.iter().any(|i| !is_blank(i) && !matches!(i, Inline::Image { .. }));
        let p = if texts { self.add(Kind::P) } else { self.parent };
        self.inside(p, |ctx| ctx.paragraph_in(inlines, env, &style, align))
    }

    /// A paragraph's text segments and figures, in the current element.
    fn paragraph_in(&mut self, inlines: &[Inline], env: &Env, style: &TextStyle, align: AlignMode) -> Vec<Row> {
        let tag = Tag::Node(self.parent);
        let mut rows = Vec::new();
        let mut start = 0;
        // Images split a paragraph into text segments and figures.
        for (k, inline) in inlines.iter().enumerate() {
            if let Inline::Image { src, alt } = inline {
                let segment = &inlines[start..k];
                if !segment.iter().all(is_blank) {
                    rows.extend(keep_lines_together(self.text_rows(segment, env, style, align, tag)));
                }
                let mut fig = self.figure(src, alt, env);
                if !rows.is_empty()
                    && let Some(f) = fig.first_mut()
                {
                    f.space_before = env.spacing;
                }
                rows.extend(fig);
                start = k + 1;
            }
        }
        let segment = &inlines[start..];
        if !segment.iter().all(is_blank) {
            let mut text = keep_lines_together(self.text_rows(segment, env, style, align, tag));
            if start > 0
                && let Some(f) = text.first_mut()
            {
                f.space_before = env.spacing;
            }
            rows.extend(text);
        }
        rows
    }

    /// An image and its caption (the alt text) in a `Figure` with the alt text as `/Alt`; an
    /// image without alt text is decorative, an artifact.
    fn figure(&mut self, src: &str, alt: &str, env: &Env) -> Vec<Row> {
        let colours = self.template.colours;
        let described = !alt.trim().is_empty();
        let tag = if described {
            let node = self.add(Kind::Figure);
            self.tree.set_alt(node, alt.trim());
            Tag::Node(node)
        } else {
            LAYOUT
        };
        let caption_env = Env { size: env.size * 0.88, colour: colours.muted, ..*env };
        let mut caption_style = self.text_style(&caption_env);
        caption_style.italic = true;
        let caption: Vec<Inline> = vec![Inline::Text { text: alt.to_string(), style: Default::default(), link: None }];
        let mut rows = Vec::new();
        match self.images.get(src) {
            Some((idx, img)) => {
                // 96 dpi natural size, never wider than the column nor taller than
                // the page allows.
                let mut w = img.width as f32 * 0.75;
                let mut h = img.height as f32 * 0.75;
                let scale = (env.width / w).min(self.max_figure_height / h).min(1.0);
                w *= scale;
                h *= scale;
                let x = env.x + (env.width - w) / 2.0;
                rows.push(Row {
                    height: h + 4.0,
                    items: vec![Item::Image { rect: Rect { x, y: 2.0, w, h }, image: idx, tag }],
                    keep_with_next: described,
                    ..Row::default()
                });
            }
            None => {
                let label = self.template.texts.image_missing.replace("{name}", src);
                let box_env = Env { x: env.x + 8.0, width: env.width - 16.0, ..caption_env };
                let label_inl = vec![Inline::Text { text: label, style: Default::default(), link: None }];
                let lines = self.text_rows(&label_inl, &box_env, &caption_style, AlignMode::Center, tag);
                let inner: f32 = lines.iter().map(|r| r.height).sum();
                let h = inner + 16.0;
                let mut items = vec![Item::Stroke {
                    rect: Rect { x: env.x, y: 0.0, w: env.width, h },
                    colour: colours.rule,
                    width: 0.8,
                    tag: LAYOUT,
                }];
                let mut y = 8.0;
                for l in lines {
                    for mut it in l.items {
                        it.translate(0.0, y);
                        items.push(it);
                    }
                    y += l.height;
                }
                rows.push(Row { height: h, items, keep_with_next: described, ..Row::default() });
            }
        }
        if let Tag::Node(figure) = tag {
            let node = self.tree.add(figure, Kind::Caption);
            let mut cap = self.text_rows(&caption, &caption_env, &caption_style, AlignMode::Center, Tag::Node(node));
            let n = cap.len();
            for (k, r) in cap.iter_mut().enumerate() {
                r.keep_with_next = k + 1 < n;
            }
            if let Some(f) = cap.first_mut() {
                f.space_before = 2.0;
            }
            rows.extend(cap);
        }
        rows
    }

    fn code(&mut self, text: &str, env: &Env) -> Vec<Row> {
        let size = self.template.sizes.code.min(env.size);
        let cenv = Env { size, ..*env };
        let mut style = self.text_style(&cenv);
        style.mono = true;
        style.line_height = 1.3;
        let pad = 5.0;
        let inner = Env { x: env.x + pad, width: env.width - 2.0 * pad, ..cenv };
        let body = text.strip_suffix('\n').unwrap_or(text);
        let node = self.add(Kind::Code);
        let mut rows: Vec<Row> = Vec::new();
        for line in body.split('\n') {
            let line = line.trim_end_matches('\r').replace('\t', "    ");
            if line.is_empty() {
                rows.push(Row { height: size * style.line_height, ..Row::default() });
                continue;
            }
            let atoms = self.engine.code_atoms(&line, &style);
            let mut tagger = Tagger::new(&mut self.tree, Tag::Node(node));
            let lines = self.engine.lines(atoms, inner.width, AlignMode::Left, &style, &[], &mut tagger);
            for (k, mut row) in lines_to_rows(lines, inner.x).into_iter().enumerate() {
                if k > 0 {
                    // A wrapped line goes on: a hooked arrow in the left padding says so.
                    let (x0, x1) = (env.x + 0.8, env.x + pad - 0.6);
                    let y = row.baseline - size * 0.3;
                    let colour = self.template.colours.muted;
                    let w = (size * 0.06).max(0.4);
                    let tag = LAYOUT;
                    row.items.extend([
                        Item::Line { x1: x0, y1: y - size * 0.35, x2: x0, y2: y, width: w, colour, tag },
                        Item::Line { x1: x0, y1: y, x2: x1, y2: y, width: w, colour, tag },
                        Item::Line { x1: x1 - 1.3, y1: y - 1.1, x2: x1, y2: y, width: w, colour, tag },
                        Item::Line { x1: x1 - 1.3, y1: y + 1.1, x2: x1, y2: y, width: w, colour, tag },
                    ]);
                }
                rows.push(row);
            }
        }
        let n = rows.len();
        let bg = self.template.colours.code_background;
        for (k, r) in rows.iter_mut().enumerate() {
            if k == 0 {
                for it in &mut r.items {
                    it.translate(0.0, pad);
                }
                r.height += pad;
            }
            if k + 1 == n {
                r.height += pad;
            }
            r.items.insert(
                0,
                Item::Fill { rect: Rect { x: env.x, y: 0.0, w: env.width, h: r.height }, colour: bg, tag: LAYOUT },
            );
            // Keep at least two lines together at either end of a code block.
            r.keep_with_next = n > 1 && (k == 0 || k + 2 == n);
        }
        rows
    }

    fn quote(&mut self, blocks: &[Block], env: &Env) -> Vec<Row> {
        let indent = env.size * 1.2;
        let inner = Env { x: env.x + indent, width: env.width - indent, colour: self.template.colours.muted, ..*env };
        let node = self.add(Kind::BlockQuote);
        let mut rows = self.inside(node, |ctx| ctx.blocks(blocks, &inner));
        let bar = (env.x + 2.0, self.template.colours.quote_bar);
        for r in &mut rows {
            r.bars.insert(0, bar);
        }
        rows
    }

    fn list(&mut self, start: Option<u64>, items: &[ListItem], env: &Env) -> Vec<Row> {
        let marker_style = {
            let mut s = self.text_style(env);
            s.colour = self.template.colours.accent;
            s
        };
        let last_number = start.map(|s| s.saturating_add(items.len().saturating_sub(1) as u64));
        let gutter = match last_number {
            Some(n) => {
                let probe = vec![plain(format!("{n}."))];
                let atoms = self.engine.atoms(&probe, &marker_style);
                TextEngine::measure(&atoms).1 + env.size * 0.6
            }
            None => env.size * 1.4,
        };
        let inner = Env {
            x: env.x + gutter,
            width: env.width - gutter,
            list_depth: env.list_depth + 1,
            spacing: env.spacing * 0.5,
            ..*env
        };
        let list = self.add(Kind::L);
        let mut rows = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let li = self.tree.add(list, Kind::LI);
            let label = self.tree.add(li, Kind::Lbl);
            let body = self.tree.add(li, Kind::LBody);
            let mut item_rows = self.inside(body, |ctx| ctx.blocks(&item.blocks, &inner));
            let tag = Tag::Node(label);
            if item_rows.is_empty() {
                item_rows.push(Row {
                    height: env.size * self.template.sizes.line_height,
                    baseline: env.size,
                    ..Row::default()
                });
            }
            let first = &mut item_rows[0];
            let baseline = first.baseline;
            match item.task {
                Some(checked) => {
                    let s = env.size * 0.72;
                    let x = inner.x - gutter + (gutter - s) / 2.0 - env.size * 0.15;
                    let y = baseline - s * 0.95;
                    // A drawn box: its label says what it shows.
                    self.tree.set_actual_text(label, if checked { "☑" } else { "☐" });
                    first.items.push(Item::Stroke {
                        rect: Rect { x, y, w: s, h: s },
                        colour: marker_style.colour,
                        width: 0.8,
                        tag,
                    });
                    if checked {
                        let c = marker_style.colour;
                        first.items.push(Item::Line {
                            x1: x + s * 0.2,
                            y1: y + s * 0.55,
                            x2: x + s * 0.42,
                            y2: y + s * 0.8,
                            width: 1.2,
                            colour: c,
                            tag,
                        });
                        first.items.push(Item::Line {
                            x1: x + s * 0.42,
                            y1: y + s * 0.8,
                            x2: x + s * 0.85,
                            y2: y + s * 0.15,
                            width: 1.2,
                            colour: c,
                            tag,
                        });
                    }
                }
                None => {
                    let text = match start {
                        Some(s) => format!("{}.", s.saturating_add(k as u64)),
                        None => ["•", "–", "◦"][env.list_depth % 3].to_string(),
                    };
                    let marker_env = Env { x: env.x, width: gutter - env.size * 0.45, ..*env };
                    let marker = self.text_rows(&[plain(text)], &marker_env, &marker_style, AlignMode::Right, tag);
                    if let Some(m) = marker.into_iter().next() {
                        let dy = baseline - m.baseline;
                        for mut it in m.items {
                            it.translate(0.0, dy);
                            first.items.push(it);
                        }
                    }
                }
            }
            if k > 0 {
                first.space_before = first.space_before.max(env.spacing * 0.35);
            }
            rows.extend(item_rows);
        }
        rows
    }

    /// The short rule above the footnotes of a page.
    pub fn note_separator(&self, env: &Env) -> Row {
        let size = self.template.sizes.footnote;
        Row {
            height: size,
            space_before: env.spacing * 2.0,
            items: vec![Item::Line {
                x1: env.x,
                y1: size / 2.0,
                x2: env.x + env.width / 3.0,
                y2: size / 2.0,
                width: 0.6,
                colour: self.template.colours.rule,
                tag: LAYOUT,
            }],
            keep_with_next: true,
            ..Row::default()
        }
    }

    /// The footnotes of a part laid out for the foot of a page, by number: the number (a
    /// link back to the first reference) in a gutter, then the note in the footnote size.
    /// Each note gets its destination (anchor [`note_anchor`]) and one for its first
    /// reference mark (anchor [`note_ref_anchor`]), which the flow records where the mark lands.
    /// Also returns their `Note` elements, in number order, not yet in the tree: they go
    /// after the part's text.
    pub fn notes(&mut self, notes: &[Footnote], env: &Env) -> (BTreeMap<usize, Note>, Vec<NodeId>) {
        let size = self.template.sizes.footnote;
        let fenv = Env { size, ..*env };
        let marker_style = self.text_style(&fenv);
        let widest = notes.iter().map(|n| n.number).max().unwrap_or(1);
        let probe = self.engine.atoms(&[plain(format!("{widest}."))], &marker_style);
        let gutter = (TextEngine::measure(&probe).1 + size * 0.8).max(size * 2.0);
        let inner = Env { x: env.x + gutter, width: env.width - gutter, spacing: size * 0.4, ..fenv };
        let mut out = BTreeMap::new();
        let mut nodes = Vec::with_capacity(notes.len());
        for note in notes {
            let node = self.tree.detached(Kind::Note);
            nodes.push(node);
            // The number links back to the mark: a `Link`, the note's first element.
            let link = self.tree.add(node, Kind::Link);
            let mut rows = self.inside(node, |ctx| ctx.blocks(&note.blocks, &inner));
            if rows.is_empty() {
                rows.push(Row { height: size * 1.3, baseline: size, ..Row::default() });
            }
            let dest = self.new_dest();
            let ref_dest = self.new_dest();
            self.anchors.insert(note_anchor(note.number), dest);
            self.anchors.insert(note_ref_anchor(note.number), ref_dest);
            let first = &mut rows[0];
            first.space_before = size * 0.3;
            first.anchor = Some(dest);
            let marker_env = Env { x: env.x, width: gutter - size * 0.5, ..fenv };
            let tag = Tag::Node(link);
            let marker = self.text_rows(
                &[plain(format!("{}.", note.number))],
                &marker_env,
                &marker_style,
                AlignMode::Right,
                tag,
            );
            if let Some(m) = marker.into_iter().next() {
                let dy = first.baseline - m.baseline;
                first.items.push(Item::Link {
                    rect: Rect { x: env.x, y: 0.0, w: gutter, h: first.height },
                    target: Target::Anchor(note_ref_anchor(note.number)),
                    tag,
                });
                for mut it in m.items {
                    it.translate(0.0, dy);
                    first.items.push(it);
                }
            }
            out.insert(note.number, Note { rows, ref_dest });
        }
        (out, nodes)
    }

    /// Record characters that no face covers as one warning.
    pub fn report_missing(&mut self) {
        let missing = std::mem::take(&mut self.engine.missing.chars);
        if missing.is_empty() {
            return;
        }
        let list: Vec<String> = missing.iter().map(|(c, n)| format!("U+{:04X} {c:?} x{n}", *c as u32)).collect();
        self.warnings.push(Warning::new(
            WarningCode::MissingGlyph,
            format!("no configured font covers these characters, drawn as boxes: {}", list.join(", ")),
        ));
    }
}

/// Plain unstyled text as inline content.
pub(crate) fn plain(text: String) -> Inline {
    Inline::Text { text, style: Default::default(), link: None }
}

/// A table's caption ("Table: …", "Table 3: …", "Tableau 2 : …") stays with the table it
/// comes before or after, and so does a paragraph leading into a table (ending in ":").
fn keeps_with_next(block: &Block, next: Option<&Block>) -> bool {
    match (block, next) {
        (Block::Paragraph(p), Some(Block::Table { .. })) => {
            let text = plain_text(p);
            let text = text.trim();
            text.ends_with(':') || is_caption(text)
        }
        (Block::Paragraph(p), Some(Block::Paragraph(caption))) => {
            plain_text(p).trim().ends_with(':') && is_caption(plain_text(caption).trim())
        }
        (Block::Table { .. }, Some(Block::Paragraph(p))) => is_caption(plain_text(p).trim()),
        _ => false,
    }
}

fn is_caption(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("Tableau").or_else(|| text.strip_prefix("Table")) else { return false };
    let rest = rest.trim_start().trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').trim_start();
    rest.starts_with([':', '—', '–'])
}

fn is_blank(i: &Inline) -> bool {
    matches!(i, Inline::Text { text, .. } if text.trim().is_empty())
}

pub(crate) fn lines_to_rows(lines: Vec<Line>, x: f32) -> Vec<Row> {
    lines
        .into_iter()
        .map(|l| {
            let mut items = l.items;
            for it in &mut items {
                it.translate(x, 0.0);
            }
            Row { height: l.height, items, baseline: l.baseline, notes: l.notes, ..Row::default() }
        })
        .collect()
}

/// No single first or last line of a paragraph alone at a page edge.
fn keep_lines_together(mut rows: Vec<Row>) -> Vec<Row> {
    let n = rows.len();
    if n >= 2 {
        rows[0].keep_with_next = true;
        rows[n - 2].keep_with_next = true;
    }
    rows
}
