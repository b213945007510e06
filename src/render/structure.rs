//! The logical structure of a rendering (tagged PDF, PDF/UA-1): which element of
//! the document every drawn item belongs to, and the structure tree written from it.
//!
//! Layout builds the tree as it lays out the document tree: each block adds its
//! element (`P`, `H1`..`H6`, `L`/`LI`/`Lbl`/`LBody`, `Table`/`TR`/`TH`/`TD`,
//! `Figure`/`Caption`, `Code`, `BlockQuote`, `Note`, `Link`, `TOC`/`TOCI`) under the
//! element it sits in, and gives every item it draws a [`Tag`]: the element, or an
//! artifact (running header and footer, rules, backgrounds, dot leaders, repeated
//! table headers, decorative images). Children keep the order they were added in,
//! which is reading order: the cover and contents get their sections before the
//! parts are laid out (they are laid out last), and a part's footnotes, laid out
//! first, join it after its text ([`StructTree::attach`]).
//!
//! The content writer ([`content`](super::content)) wraps each run of items with one
//! tag in a marked-content sequence (`BDC` with an MCID, or `/Artifact`), and lists
//! per page which element each MCID belongs to. [`write`] turns that into the PDF's
//! `/StructTreeRoot`: an element's marked content and its child elements interleave
//! in the order they are drawn, an element with nothing drawn is left out (empty
//! table cells excepted, so rows keep their columns), heading levels are made to
//! descend one at a time (a Markdown `###` straight after `#` is written `H2`), and
//! the `/ParentTree` maps each page's MCIDs and each link annotation back to its
//! element. A paragraph continued on the next page is one `P` with marked content
//! on both pages.

use lopdf::{Dictionary, Object, ObjectId};

use super::file::{Serialised, serialise};
use super::pdf::text_string;

/// An element of the structure tree, by index (the default is the `Document` element).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeId(u32);

/// The structure type of an element (all standard PDF 1.7 types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Document,
    Part,
    Sect,
    /// A heading of level 1 to 6, as the source gave it ([`write`] closes gaps).
    H(u8),
    P,
    L,
    LI,
    Lbl,
    LBody,
    Table,
    TR,
    /// A header cell, with the cells it heads.
    TH(Scope),
    TD,
    Figure,
    Caption,
    Note,
    Link,
    Code,
    BlockQuote,
    Toc,
    Toci,
}

/// What a header cell heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Column,
    Row,
}

impl Kind {
    /// The structure type's name (`/S`), a heading's at `level`.
    fn name(self, level: u8) -> &'static str {
        match self {
            Kind::Document => "Document",
            Kind::Part => "Part",
            Kind::Sect => "Sect",
            Kind::H(_) => ["H1", "H2", "H3", "H4", "H5", "H6"][(level.clamp(1, 6) - 1) as usize],
            Kind::P => "P",
            Kind::L => "L",
            Kind::LI => "LI",
            Kind::Lbl => "Lbl",
            Kind::LBody => "LBody",
            Kind::Table => "Table",
            Kind::TR => "TR",
            Kind::TH(_) => "TH",
            Kind::TD => "TD",
            Kind::Figure => "Figure",
            Kind::Caption => "Caption",
            Kind::Note => "Note",
            Kind::Link => "Link",
            Kind::Code => "Code",
            Kind::BlockQuote => "BlockQuote",
            Kind::Toc => "TOC",
            Kind::Toci => "TOCI",
        }
    }
}

/// Content that is not part of the document's text, by the kind PDF names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Artifact {
    /// Rules, backgrounds, quote bars, dot leaders, decorative images.
    Layout,
    /// What repeats because of pagination: a table's header on the pages it continues on.
    Pagination,
    /// The running header.
    Header,
    /// The running footer and its page number.
    Footer,
}

impl Artifact {
    /// The property list of its marked-content sequence.
    pub fn properties(self) -> &'static [u8] {
        match self {
            Artifact::Layout => b"<</Type /Layout>>",
            Artifact::Pagination => b"<</Type /Pagination>>",
            Artifact::Header => b"<</Type /Pagination /Subtype /Header>>",
            Artifact::Footer => b"<</Type /Pagination /Subtype /Footer>>",
        }
    }
}

/// What a drawn item is: content of an element, or an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Node(NodeId),
    Artifact(Artifact),
}

/// Rules, backgrounds and other drawing that carries no text.
pub(crate) const LAYOUT: Tag = Tag::Artifact(Artifact::Layout);

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    parent: Option<NodeId>,
    children: Vec<NodeId>,
    /// Alternate description (`/Alt`), for figures.
    alt: Option<String>,
    /// Replacement text (`/ActualText`), for a label drawn rather than written (a task box).
    actual_text: Option<String>,
    /// Language (`/Lang`), where it is not the document's.
    lang: Option<String>,
}

/// The structure tree of one rendering.
#[derive(Debug, Clone)]
pub(crate) struct StructTree {
    nodes: Vec<Node>,
    /// The document's language (`/Lang` of the `Document` element).
    language: String,
}

impl StructTree {
    /// A tree holding only its `Document` element ([`StructTree::root`]).
    pub fn new(language: &str) -> StructTree {
        let root =
            Node { kind: Kind::Document, parent: None, children: Vec::new(), alt: None, actual_text: None, lang: None };
        StructTree { nodes: vec![root], language: language.to_string() }
    }

    /// The `Document` element.
    pub fn root(&self) -> NodeId {
        NodeId(0)
    }

    /// A new element, last child of `parent`.
    pub fn add(&mut self, parent: NodeId, kind: Kind) -> NodeId {
        let id = self.detached(kind);
        self.attach(parent, id);
        id
    }

    /// A new element without a parent yet.
    pub fn detached(&mut self, kind: Kind) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node { kind, parent: None, children: Vec::new(), alt: None, actual_text: None, lang: None });
        id
    }

    /// Make a detached element the last child of `parent`.
    pub fn attach(&mut self, parent: NodeId, node: NodeId) {
        self.nodes[node.0 as usize].parent = Some(parent);
        self.nodes[parent.0 as usize].children.push(node);
    }

    pub fn kind(&self, node: NodeId) -> Kind {
        self.nodes[node.0 as usize].kind
    }

    /// Set a figure's alternate description.
    pub fn set_alt(&mut self, node: NodeId, alt: &str) {
        self.nodes[node.0 as usize].alt = Some(alt.to_string());
    }

    /// Set the language of an element written in another than the document's (BCP 47);
    /// nothing when it is the document's.
    pub fn set_lang(&mut self, node: NodeId, lang: &str) {
        if !lang.eq_ignore_ascii_case(&self.language) {
            self.nodes[node.0 as usize].lang = Some(lang.to_string());
        }
    }

    /// Set the text an element stands for in place of its drawing.
    pub fn set_actual_text(&mut self, node: NodeId, text: &str) {
        self.nodes[node.0 as usize].actual_text = Some(text.to_string());
    }

    /// How many elements there are: a mark for [`StructTree::truncate`].
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Forget the elements added since [`StructTree::len`] returned `len` (a layout
    /// pass made only to measure).
    pub fn truncate(&mut self, len: usize) {
        self.nodes.truncate(len);
        for n in &mut self.nodes {
            n.children.retain(|c| (c.0 as usize) < len);
        }
    }

    /// The structure type name a marked-content sequence of `node` is written with.
    pub fn tag_name(&self, node: NodeId) -> &'static str {
        let kind = self.kind(node);
        match kind {
            Kind::H(level) => kind.name(level),
            _ => kind.name(0),
        }
    }
}

/// Gives the text engine the tag of each piece of a block's text: the block's own,
/// or a `Link` element inside it for a link's text and a footnote mark.
pub(crate) struct Tagger<'a> {
    tree: &'a mut StructTree,
    tag: Tag,
    /// The `Link` element of each link (by its index in the part's links) met so far.
    links: Vec<(usize, NodeId)>,
}

impl<'a> Tagger<'a> {
    pub fn new(tree: &'a mut StructTree, tag: Tag) -> Tagger<'a> {
        Tagger { tree, tag, links: Vec::new() }
    }

    /// The block's own text.
    pub fn text(&self) -> Tag {
        self.tag
    }

    /// The text of link `index`: one `Link` element for all its pieces, whatever
    /// lines they fall on.
    pub fn link(&mut self, index: usize) -> Tag {
        let Tag::Node(parent) = self.tag else { return self.tag };
        if let Some(&(_, node)) = self.links.iter().find(|(l, _)| *l == index) {
            return Tag::Node(node);
        }
        let node = self.tree.add(parent, Kind::Link);
        self.links.push((index, node));
        Tag::Node(node)
    }

    /// A footnote mark: a `Link` element of its own, to the note.
    pub fn note_mark(&mut self) -> Tag {
        match self.tag {
            Tag::Node(parent) => Tag::Node(self.tree.add(parent, Kind::Link)),
            artifact => artifact,
        }
    }
}

/// A link annotation written on a page, for the structure tree: the `k`-th of them has
/// `/StructParent` [`annotation_key`]`(pages, k)`, set by the writer as it makes it.
pub(crate) struct Annotation {
    pub id: ObjectId,
    pub page: usize,
    pub node: NodeId,
}

/// Write the structure tree: returns the `/StructTreeRoot` object and the elements,
/// serialised as they are made (thousands of small dictionaries, which held as lopdf
/// objects until the file was written were the largest part of a rendering's peak
/// memory), with the `/ParentTree` (serialised too), and sets `/StructParents` on every
/// page. `marks[p][k]` is the element of MCID `k` on page `p`.
pub(crate) fn write(
    lo: &mut lopdf::Document,
    tree: &StructTree,
    marks: &[Vec<NodeId>],
    pages: &[ObjectId],
    annotations: &[Annotation],
) -> (ObjectId, Serialised) {
    let mut elements = Serialised::new();
    let n = tree.nodes.len();
    // Marked content of each element, in drawing order: (sequence number, page, MCID).
    let mut own: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); n];
    let mut seq = 0;
    for (p, page) in marks.iter().enumerate() {
        for (mcid, node) in page.iter().enumerate() {
            own[node.0 as usize].push((seq, p, mcid));
            seq += 1;
        }
    }
    let mut objrs: Vec<Vec<&Annotation>> = vec![Vec::new(); n];
    for a in annotations {
        objrs[a.node.0 as usize].push(a);
    }
    // First drawing in each subtree, and whether anything of it is drawn at all;
    // children have higher ids than their parents, so one pass from the end does it.
    let mut first: Vec<Option<usize>> = own.iter().map(|m| m.first().map(|f| f.0)).collect();
    let mut drawn: Vec<bool> = (0..n).map(|i| !own[i].is_empty() || !objrs[i].is_empty()).collect();
    for i in (1..n).rev() {
        if let Some(p) = tree.nodes[i].parent {
            let p = p.0 as usize;
            first[p] = match (first[p], first[i]) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            drawn[p] |= drawn[i];
        }
    }
    let kept = |i: usize| {
        drawn[i]
            || (matches!(tree.nodes[i].kind, Kind::TH(_) | Kind::TD)
                && tree.nodes[i].parent.is_some_and(|p| drawn[p.0 as usize]))
    };

    let ids: Vec<Option<ObjectId>> = (0..n).map(|i| kept(i).then(|| lo.new_object_id())).collect();
    let root_id = lo.new_object_id();
    let mut parent_tree: Vec<Vec<Option<ObjectId>>> = marks.iter().map(|m| vec![None; m.len()]).collect();

    // Depth first in reading order, so heading levels can be checked as they are read.
    let mut last_heading = 0u8;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let node = &tree.nodes[i];
        let Some(id) = ids[i] else { continue };
        let children: Vec<usize> = node.children.iter().map(|c| c.0 as usize).filter(|&c| kept(c)).collect();
        stack.extend(children.iter().rev());

        let mut d = Dictionary::new();
        d.set("Type", "StructElem");
        let level = match node.kind {
            Kind::H(level) => {
                last_heading = level.min(last_heading + 1);
                last_heading
            }
            _ => 0,
        };
        d.set("S", Object::Name(node.kind.name(level).as_bytes().to_vec()));
        d.set("P", node.parent.and_then(|p| ids[p.0 as usize]).unwrap_or(root_id));
        if let Some(lang) = if i == 0 { Some(&tree.language) } else { node.lang.as_ref() } {
            d.set("Lang", text_string(lang));
        }
        if let Some(alt) = &node.alt {
            d.set("Alt", text_string(alt));
        }
        if let Some(text) = &node.actual_text {
            d.set("ActualText", text_string(text));
        }
        if let Kind::TH(scope) = node.kind {
            let mut a = Dictionary::new();
            a.set("O", "Table");
            a.set("Scope", if scope == Scope::Column { "Column" } else { "Row" });
            d.set("A", a);
        }
        let home = own[i].first().map(|m| m.1).or_else(|| objrs[i].first().map(|a| a.page));
        if let Some(page) = home {
            d.set("Pg", pages[page]);
        }

        // Own marked content and child elements interleaved in drawing order; an
        // element with nothing drawn (an empty cell) keeps its place among its siblings.
        let mut kids = Vec::new();
        let mut mine = own[i].iter().peekable();
        let mcr = |&(_, page, mcid): &(usize, usize, usize)| {
            if Some(page) == home {
                Object::Integer(mcid as i64)
            } else {
                let mut r = Dictionary::new();
                r.set("Type", "MCR");
                r.set("Pg", pages[page]);
                r.set("MCID", mcid as i64);
                Object::Dictionary(r)
            }
        };
        for &c in &children {
            if let Some(key) = first[c] {
                while let Some(m) = mine.next_if(|m| m.0 < key) {
                    kids.push(mcr(m));
                }
            }
            kids.push(Object::Reference(ids[c].expect("kept child")));
        }
        kids.extend(mine.map(mcr));
        for a in &objrs[i] {
            let mut r = Dictionary::new();
            r.set("Type", "OBJR");
            r.set("Pg", pages[a.page]);
            r.set("Obj", a.id);
            kids.push(Object::Dictionary(r));
        }
        for &(_, page, mcid) in &own[i] {
            parent_tree[page][mcid] = Some(id);
        }
        d.set("K", Object::Array(kids));
        elements.insert(id.0, serialise(&Object::Dictionary(d)));
    }

    let mut nums = Vec::with_capacity(2 * (marks.len() + annotations.len()));
    for (p, (page, refs)) in pages.iter().zip(parent_tree).enumerate() {
        if let Ok(d) = lo.get_dictionary_mut(*page) {
            d.set("StructParents", p as i64);
        }
        nums.push(Object::Integer(p as i64));
        nums.push(Object::Array(refs.into_iter().map(reference).collect()));
    }
    for (k, a) in annotations.iter().enumerate() {
        nums.push(Object::Integer(annotation_key(pages.len(), k)));
        nums.push(reference(ids[a.node.0 as usize]));
    }
    let mut parent_tree = Dictionary::new();
    parent_tree.set("Nums", Object::Array(nums));
    let parent_tree_id = lo.new_object_id();
    elements.insert(parent_tree_id.0, serialise(&Object::Dictionary(parent_tree)));
    let mut root = Dictionary::new();
    root.set("Type", "StructTreeRoot");
    root.set("K", ids[0].map_or(Object::Array(Vec::new()), Object::Reference));
    root.set("ParentTree", parent_tree_id);
    root.set("ParentTreeNextKey", (pages.len() + annotations.len()) as i64);
    lo.objects.insert(root_id, Object::Dictionary(root));
    (root_id, elements)
}

/// The `/ParentTree` key of the `k`-th annotation of a document of `pages` pages: after
/// the pages' own keys.
pub(crate) fn annotation_key(pages: usize, k: usize) -> i64 {
    (pages + k) as i64
}

fn reference(id: Option<ObjectId>) -> Object {
    id.map_or(Object::Null, Object::Reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_of_a_block_share_an_element_per_link_and_marks_get_their_own() {
        let mut tree = StructTree::new("en");
        let p = tree.add(tree.root(), Kind::P);
        let mut tagger = Tagger::new(&mut tree, Tag::Node(p));
        let a = tagger.link(3);
        assert_eq!(tagger.link(3), a);
        assert_ne!(tagger.link(4), a);
        assert_ne!(tagger.note_mark(), tagger.note_mark());
        assert_eq!(tagger.text(), Tag::Node(p));
        assert_eq!(tree.nodes[p.0 as usize].children.len(), 4);
        let mut artifact = Tagger::new(&mut tree, LAYOUT);
        assert_eq!(artifact.link(0), LAYOUT);
    }

    #[test]
    fn a_measuring_pass_leaves_no_elements_behind() {
        let mut tree = StructTree::new("en");
        let toc = tree.add(tree.root(), Kind::Toc);
        let mark = tree.len();
        tree.add(toc, Kind::Toci);
        tree.truncate(mark);
        assert!(tree.nodes[toc.0 as usize].children.is_empty());
        assert_eq!(tree.len(), 2);
    }

    #[test]
    fn headings_descend_one_level_at_a_time_and_undrawn_elements_are_left_out() {
        let mut tree = StructTree::new("en");
        let root = tree.root();
        let h1 = tree.add(root, Kind::H(1));
        let h4 = tree.add(root, Kind::H(4));
        tree.add(root, Kind::P);
        let mut lo = lopdf::Document::with_version("1.7");
        let page = lo.add_object(Dictionary::new());
        let (root_id, elements) = write(&mut lo, &tree, &[vec![h1, h4]], &[page], &[]);
        let written: Vec<String> = elements.values().map(|e| String::from_utf8_lossy(e).into_owned()).collect();
        let has = |name: &str| written.iter().any(|e| e.contains(&format!("/S/{name}/")));
        assert!(has("H1") && has("H2"), "{written:?}");
        assert!(!has("H4") && !has("P"), "{written:?}");
        assert!(lo.get_dictionary(root_id).is_ok());
    }
}
