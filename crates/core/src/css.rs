//! CSS selector validation with the parser browsers' engines and scraper use (`selectors` +
//! `cssparser`), without depending on an HTML parser.

use std::fmt;

use cssparser::ToCss;
use precomputed_hash::PrecomputedHash;
use selectors::parser::{self, ParseRelative, SelectorList, SelectorParseErrorKind};

/// Parse `text` as a CSS selector list; `Err` holds a readable reason.
pub(crate) fn check_selector(text: &str) -> Result<(), String> {
    let mut parser = cssparser::Parser::new(text);
    SelectorList::parse(&Grammar, &mut parser, ParseRelative::No)
        .map(|_| ())
        .map_err(|e| describe(e.kind))
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
    use super::check_selector;

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
