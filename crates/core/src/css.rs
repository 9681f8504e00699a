//! CSS selector validation with the parser browsers' engines and scraper use (`selectors` +
//! `cssparser`), without depending on an HTML parser.

use std::fmt;

use cssparser::ToCss;
use precomputed_hash::PrecomputedHash;
use selectors::parser::{self, ParseRelative, SelectorList, SelectorParseErrorKind};

fn parse_list(text: &str) -> Result<SelectorList<Impl>, String> {
    let mut parser = cssparser::Parser::new(text);
    SelectorList::parse(&Grammar, &mut parser, ParseRelative::No).map_err(|e| describe(e.kind))
}

/// A CSS selector list that tagsmith accepts as a tracking target, parsed once with the parser
/// browsers' engines and scraper use (`selectors` + `cssparser`). Page-state pseudo-classes
/// (`:hover`) and pseudo-elements are refused: they cannot be stable targets. The crawler and
/// the Google sync use this type, so every crate applies the same rules.
///
/// ```
/// let s = tagsmith_core::CssSelector::parse("form#contact > button[type=submit], .cta").unwrap();
/// assert_eq!(s.len(), 2);
/// assert_eq!(s.as_str(), "form#contact > button[type=submit], .cta");
/// assert!(tagsmith_core::CssSelector::parse("a:hover").is_err());
/// ```
#[derive(Clone)]
pub struct CssSelector {
    text: String,
    parsed: SelectorList<Impl>,
}

impl CssSelector {
    /// Longest accepted selector, in bytes.
    pub const MAX_BYTES: usize = 1000;

    /// Parse and check a selector list.
    ///
    /// # Errors
    /// `invalid_input` naming the field `selector` with the reason (empty, too long, or the
    /// parser's complaint).
    pub fn parse(text: &str) -> crate::Result<Self> {
        let reason = if text.trim().is_empty() {
            "must not be empty".to_owned()
        } else if text.len() > Self::MAX_BYTES {
            format!("must be at most {} bytes", Self::MAX_BYTES)
        } else {
            match parse_list(text) {
                Ok(parsed) => {
                    return Ok(Self {
                        text: text.to_owned(),
                        parsed,
                    });
                }
                Err(reason) => reason,
            }
        };
        Err(crate::Error::invalid_field("selector", text, reason))
    }

    /// The selector as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many selectors the list holds (`a, b` is 2).
    pub fn len(&self) -> usize {
        self.parsed.slice().len()
    }

    /// Never true: an empty selector does not parse.
    pub fn is_empty(&self) -> bool {
        self.parsed.slice().is_empty()
    }

    /// The highest specificity among the list's selectors, packed as `selectors` computes it
    /// (ids, then classes/attributes/pseudo-classes, then types): higher is more specific.
    pub fn specificity(&self) -> u32 {
        self.parsed
            .slice()
            .iter()
            .map(|s| s.specificity())
            .max()
            .unwrap_or(0)
    }
}

impl fmt::Debug for CssSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CssSelector").field(&self.text).finish()
    }
}

impl fmt::Display for CssSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for CssSelector {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CssSelector {}

impl std::str::FromStr for CssSelector {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

fn describe(kind: cssparser::ParseErrorKind<SelectorParseErrorKind>) -> String {
    let what = match kind {
        cssparser::ParseErrorKind::Basic(b) => format!("{b:?}"),
        cssparser::ParseErrorKind::Custom(c) => format!("{c:?}"),
    };
    format!("is not a valid CSS selector ({what})")
}

#[derive(Clone, Copy)]
struct Grammar;

impl<'i> parser::Parser<'i> for Grammar {
    type Impl = Impl;
    type Error = SelectorParseErrorKind;

    fn parse_is_and_where(&self) -> bool {
        true
    }

    fn parse_has(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Impl;

impl parser::SelectorImpl for Impl {
    type AttrValue = Text;
    type Identifier = Text;
    type LocalName = Text;
    type NamespacePrefix = Text;
    type NamespaceUrl = Text;
    type BorrowedNamespaceUrl = Text;
    type BorrowedLocalName = Text;
    type NonTSPseudoClass = NoPseudoClass;
    type PseudoElement = NoPseudoElement;
    type ExtraMatchingData<'a> = ();
}

/// The string type the selector grammar is instantiated with.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Text(String);

impl<'a> From<&'a str> for Text {
    fn from(s: &'a str) -> Self {
        Self(s.to_owned())
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl ToCss for Text {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        cssparser::serialize_identifier(&self.0, dest)
    }
}

impl PrecomputedHash for Text {
    fn precomputed_hash(&self) -> u32 {
        // FNV-1a; only used for bloom filters during matching, which validation never does.
        self.0.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }
}

/// No non-tree-structural pseudo-classes (`:hover`, `:focus`): a page-state selector cannot be a
/// stable tracking target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoPseudoClass {}

impl parser::NonTSPseudoClass for NoPseudoClass {
    fn is_active_or_hover(&self) -> bool {
        false
    }

    fn is_user_action_state(&self) -> bool {
        false
    }
}

impl ToCss for NoPseudoClass {
    fn to_css<W: fmt::Write>(&self, _dest: &mut W) -> fmt::Result {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoPseudoElement {}

impl parser::PseudoElement for NoPseudoElement {}

impl ToCss for NoPseudoElement {
    fn to_css<W: fmt::Write>(&self, _dest: &mut W) -> fmt::Result {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    fn check_selector(text: &str) -> Result<(), String> {
        super::CssSelector::parse(text)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_real_selectors() {
        for s in [
            "#buy-now",
            "button.add-to-cart",
            "a[href^=\"tel:\"]",
            "form#contact > button[type=submit]",
            "ul li:nth-child(2) a",
            "div:not(.hidden) .cta, .cta-secondary",
            "section:has(> h2) a",
            "[data-testid='checkout']",
        ] {
            assert!(check_selector(s).is_ok(), "{s}: {:?}", check_selector(s));
        }
    }

    #[test]
    fn the_public_type_parses_once_and_says_why() {
        let s = super::CssSelector::parse("#buy, .cta").unwrap();
        assert_eq!((s.len(), s.as_str()), (2, "#buy, .cta"));
        assert!(s.specificity() > super::CssSelector::parse(".cta").unwrap().specificity());
        let err = super::CssSelector::parse("div[").unwrap_err();
        assert_eq!(err.fields()[0].field, "selector");
        assert_eq!(
            super::CssSelector::parse(&"a".repeat(1001))
                .unwrap_err()
                .code(),
            "invalid_input"
        );
    }

    #[test]
    fn rejects_broken_selectors() {
        for s in [
            "",
            "div[",
            "..x",
            "a >",
            "#",
            "button:hover",
            "::before",
            "div > > p",
        ] {
            assert!(check_selector(s).is_err(), "{s} parsed");
        }
    }
}
