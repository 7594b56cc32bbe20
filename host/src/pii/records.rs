//! Where the personal data is in each WIT record: every `pii` field, found from the types alone,
//! and the free-form attributes the admin named as personal.
//!
//! A record type that carries people's data implements [`PiiFields`]; the filter walks it to
//! tokenize on the way to the cloud and to restore on the way to a plugin. Adding a `pii` field
//! to a WIT record means adding it here, in one place.

use super::{FieldPolicy, Kind};
use crate::plugins::worlds::mail::{Address, Delivery, Message, RefusedRecipient};
use crate::plugins::worlds::siem::{Event, EventDevice, Field, FieldValue};
use crate::plugins::worlds::uem::{App, Attribute, AttributeValue, Device, DevicePage, RiskUpdate};
use crate::plugins::worlds::{Check, Pii, PiiKind};

/// A value holding personal data in known places.
pub trait PiiFields {
    /// Calls `f` on every `pii` inside. Free-form attributes and fields that `policy` names are
    /// first turned into `pii` of the kind the admin gave.
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii));
}

impl PiiFields for Pii {
    fn visit(&mut self, _: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        f(self)
    }
}

impl<T: PiiFields> PiiFields for Option<T> {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        if let Some(inner) = self {
            inner.visit(policy, f);
        }
    }
}

impl<T: PiiFields> PiiFields for Vec<T> {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.iter_mut().for_each(|item| item.visit(policy, f));
    }
}

/// A WIT kind for a policy kind.
fn wit_kind(kind: Kind) -> PiiKind {
    match kind {
        Kind::DeviceName => PiiKind::DeviceName,
        Kind::PersonName => PiiKind::PersonName,
        Kind::UserName => PiiKind::UserName,
        Kind::Email => PiiKind::Email,
        Kind::Phone => PiiKind::Phone,
        Kind::Identifier => PiiKind::Identifier,
    }
}

/// Moves a named free-form text into a `pii` when the admin's policy names it.
fn promote(policy: &FieldPolicy, name: &str, text: &mut String) -> Option<Pii> {
    policy.kind_of(name).map(|kind| Pii { kind: wit_kind(kind), value: std::mem::take(text) })
}

/// Records without personal data, so that every world's results can be walked alike.
macro_rules! no_pii {
    ($($ty:ty),*) => {$(
        impl PiiFields for $ty {
            fn visit(&mut self, _: &FieldPolicy, _: &mut dyn FnMut(&mut Pii)) {}
        }
    )*};
}
no_pii!(Check, RiskUpdate);

/// A named free-form value (UEM attribute, SIEM field): personal when typed so, or when the
/// admin's policy names it (then its text becomes a `pii` of the policy's kind).
macro_rules! named_value {
    ($($record:ty => $value:ident),*) => {$(
        impl PiiFields for $record {
            fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
                if let $value::Text(text) = &mut self.value
                    && let Some(pii) = promote(policy, &self.name, text)
                {
                    self.value = $value::Personal(pii);
                }
                if let $value::Personal(pii) = &mut self.value {
                    f(pii);
                }
            }
        }
    )*};
}
named_value!(Attribute => AttributeValue, Field => FieldValue);

// ----- UEM -----

impl PiiFields for Device {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        for field in [&mut self.name, &mut self.owner, &mut self.user_name, &mut self.email, &mut self.phone] {
            field.visit(policy, f);
        }
        self.attributes.visit(policy, f);
    }
}

impl PiiFields for DevicePage {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.devices.visit(policy, f);
    }
}

impl PiiFields for App {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.attributes.visit(policy, f);
    }
}

// ----- SIEM -----

impl PiiFields for EventDevice {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        for field in [&mut self.name, &mut self.owner, &mut self.email, &mut self.phone] {
            field.visit(policy, f);
        }
    }
}

impl PiiFields for Event {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.message.visit(policy, f);
        self.device.visit(policy, f);
        self.fields.visit(policy, f);
    }
}

// ----- Mail -----

impl PiiFields for Address {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        f(&mut self.email);
        self.display_name.visit(policy, f);
    }
}

impl PiiFields for Message {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.sender.visit(policy, f);
        for list in [&mut self.to, &mut self.cc, &mut self.bcc] {
            list.visit(policy, f);
        }
        self.reply_to.visit(policy, f);
        f(&mut self.subject);
        self.text_body.visit(policy, f);
        self.html_body.visit(policy, f);
    }
}

impl PiiFields for RefusedRecipient {
    fn visit(&mut self, _: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        f(&mut self.address);
    }
}

impl PiiFields for Delivery {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut dyn FnMut(&mut Pii)) {
        self.refused.visit(policy, f);
    }
}
