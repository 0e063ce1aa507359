//! Where the parts of a scenario's text lie: the elements of the arrays of tables that grow with
//! the market (`[[providers]]`, `[[regions]]`), and everything else.
//!
//! A TOML document parsed whole costs about 30 times its size (the token and event lists and a
//! tree with a position for every value): 850 MiB for a generated market of 29,000 providers.
//! Loading parses instead the rest of the file as one small document and the long arrays a batch
//! of elements at a time, so memory stays near the size of the typed scenario. The split is only
//! made where it cannot change what the file means; anything unusual (a quoted table name, a
//! sub-table of a provider away from its element, a stray bracket) leaves the file whole.

use std::ops::Range;

use toml_parser::lexer::TokenKind;

/// The arrays of tables read element by element: the ones whose length grows with the market.
pub const SPLIT_KEYS: [&str; 2] = ["providers", "regions"];

/// The parts of a scenario's text, as byte ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Every part that is not an element of a split array, in file order: the top-level keys
    /// before the first table, then each other table with its keys.
    pub rest: Vec<Range<usize>>,
    /// For each of [`SPLIT_KEYS`], its elements in file order; each starts at its `[[key]]`
    /// header and holds the element's sub-tables.
    pub elements: [Vec<Range<usize>>; SPLIT_KEYS.len()],
}

impl Layout {
    /// The text of every part that is not a split element, joined in file order.
    pub fn rest_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(self.rest.iter().map(|r| r.len() + 1).sum());
        for r in &self.rest {
            out.push_str(&text[r.clone()]);
            // A part ends where the next table's line begins, so after a newline; the last part
            // may end the file without one.
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

/// A table header: where its line starts, whether it is `[[...]]`, its first key when that is a
/// bare key, and whether the key has more than one part.
struct Header<'t> {
    line_start: usize,
    array: bool,
    first: Option<&'t str>,
    dotted: bool,
}

/// Reads the header whose `[` is `open`, from the tokens that follow it on its line.
fn header<'t>(
    text: &'t str,
    line_start: usize,
    open: Range<usize>,
    tokens: &[(TokenKind, Range<usize>)],
) -> Header<'t> {
    let array =
        matches!(tokens.first(), Some((TokenKind::LeftSquareBracket, r)) if r.start == open.end);
    let key = tokens
        .iter()
        .skip(usize::from(array))
        .take_while(|(k, _)| *k != TokenKind::RightSquareBracket)
        .filter(|(k, _)| *k != TokenKind::Whitespace);
    let mut first = None;
    let mut dotted = false;
    for (i, (kind, r)) in key.enumerate() {
        match kind {
            TokenKind::Atom if i == 0 => first = Some(&text[r.clone()]),
            TokenKind::Dot => dotted = true,
            _ => {}
        }
    }
    Header {
        line_start,
        array,
        first,
        dotted,
    }
}

/// Every table header of the text, by a lexer pass that tracks brackets, so that an array written
/// over several lines is not mistaken for tables. `None` when the brackets do not balance: the
/// whole-document parser then says what is wrong.
fn headers(text: &str) -> Option<Vec<Header<'_>>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut line_start = 0usize;
    let mut at_line_start = true;
    let mut lexer = toml_parser::Source::new(text).lex();
    while let Some(token) = lexer.next() {
        let (kind, span) = (token.kind(), token.span());
        let range = span.start()..span.end();
        match kind {
            TokenKind::Newline => {
                if depth == 0 {
                    at_line_start = true;
                }
                line_start = range.end;
            }
            TokenKind::Whitespace => {}
            TokenKind::LeftSquareBracket if depth == 0 && at_line_start => {
                // The rest of the header's line.
                let mut line = Vec::new();
                let mut next_line = None;
                for t in lexer.by_ref() {
                    if t.kind() == TokenKind::Newline {
                        next_line = Some(t.span().end());
                        break;
                    }
                    line.push((t.kind(), t.span().start()..t.span().end()));
                }
                out.push(header(text, line_start, range, &line));
                let Some(next) = next_line else { break };
                line_start = next;
                at_line_start = true;
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                depth += 1;
                at_line_start = false;
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.checked_sub(1)?;
                at_line_start = false;
            }
            TokenKind::Eof => break,
            _ => at_line_start = false,
        }
    }
    (depth == 0).then_some(out)
}

/// Splits a scenario's text into its parts, or `None` when it must be read whole: a table whose
/// first key is quoted, a sub-table of a split array that does not follow its element, brackets
/// that do not balance.
pub fn layout(text: &str) -> Option<Layout> {
    let headers = headers(text)?;
    let mut rest = Vec::new();
    let mut elements: [Vec<Range<usize>>; SPLIT_KEYS.len()] = Default::default();
    let first_table = headers.first().map_or(text.len(), |h| h.line_start);
    rest.push(0..first_table);
    // The split array whose element the previous table belongs to.
    let mut current: Option<usize> = None;
    for (i, h) in headers.iter().enumerate() {
        let end = headers.get(i + 1).map_or(text.len(), |n| n.line_start);
        let range = h.line_start..end;
        let first = h.first?;
        match SPLIT_KEYS.iter().position(|k| *k == first) {
            Some(k) if h.array && !h.dotted => {
                elements[k].push(range);
                current = Some(k);
            }
            // A sub-table (`[providers.services.bi]`) belongs to the element just above it.
            Some(k) if current == Some(k) => {
                elements[k].last_mut()?.end = end;
            }
            Some(_) => return None,
            None => {
                rest.push(range);
                current = None;
            }
        }
    }
    Some(Layout { rest, elements })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (Vec<&str>, Vec<&str>) {
        let l = layout(text).expect("splits");
        (
            l.rest.iter().map(|r| &text[r.clone()]).collect(),
            l.elements[0].iter().map(|r| &text[r.clone()]).collect(),
        )
    }

    #[test]
    fn providers_are_split_off_with_their_sub_tables() {
        let text = "a = 1\n[scenario]\nname = \"x\"\n[[providers]]\nid = \"p\"\n\
                    [providers.services.bi]\nq = 1\n  [[providers]] # two\nid = \"q\"\n\
                    [rules]\nx = [\n  [1],\n  [2],\n]\n";
        let (rest, providers) = parts(text);
        assert_eq!(
            rest,
            vec![
                "a = 1\n",
                "[scenario]\nname = \"x\"\n",
                "[rules]\nx = [\n  [1],\n  [2],\n]\n"
            ]
        );
        assert_eq!(
            providers,
            vec![
                "[[providers]]\nid = \"p\"\n[providers.services.bi]\nq = 1\n",
                "  [[providers]] # two\nid = \"q\"\n"
            ]
        );
    }

    #[test]
    fn anything_unusual_leaves_the_file_whole() {
        // A sub-table of a provider after another table: TOML puts it in the last provider.
        assert!(layout("[[providers]]\nid = \"p\"\n[rules]\n[providers.services]\n").is_none());
        // A quoted table name may spell a split key.
        assert!(layout("[\"providers\"]\n").is_none());
        // An unbalanced bracket.
        assert!(layout("x = ]\n").is_none());
        // A table of providers rather than an array of them.
        assert!(layout("[providers]\n").is_none());
    }

    #[test]
    fn a_file_without_tables_is_all_rest() {
        let text = "a = 1\nb = [1,\n2]";
        let l = layout(text).expect("splits");
        assert_eq!(l.rest, vec![0..text.len()]);
        assert!(l.elements.iter().all(Vec::is_empty));
    }
}
