//! Where the personal data is in each WIT record: every `pii` field, found from the types alone,
//! the free-form text a UEM or SIEM attaches (scanned by the detectors), and the attributes the
//! admin named as personal.
//!
//! A record type that carries people's data implements [`PiiFields`]; the filter walks it to
//! tokenize on the way to the cloud and to restore on the way to a plugin. Each typed slot sets
//! its own kind (a device's `name` is a device name whatever kind the plugin put on it), so a
//! plugin cannot send a name in the clear by labelling it free text. Adding a `pii` field to a
//! WIT record means adding it here, in one place.

use super::{FieldPolicy, Kind};
use crate::plugins::worlds::mail::{Address, Delivery, Message, RefusedRecipient, ServerReply};
use crate::plugins::worlds::siem::{Event, EventDevice, Field, FieldValue};
use crate::plugins::worlds::uem::{App, Attribute, AttributeValue, Device, DevicePage, RiskUpdate};
use crate::plugins::worlds::{Check, Pii, PiiKind};

/// How a visited value is written where it lands: as text, or as HTML (a mail's HTML body), which
/// decides how restored values inside it are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Markup {
    Text,
    Html,
}

/// The callback a walk calls on each personal value.
pub type Visitor<'f> = dyn FnMut(&mut Pii, Markup) + 'f;

/// A value holding personal data in known places.
pub trait PiiFields {
    /// Calls `f` on every `pii` inside (free-form text as a `free-text` pii). Free-form
    /// attributes and fields that `policy` names are first turned into `pii` of the kind the
    /// admin gave.
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>);
}

impl<T: PiiFields> PiiFields for Option<T> {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        if let Some(inner) = self {
            inner.visit(policy, f);
        }
    }
}

impl<T: PiiFields> PiiFields for Vec<T> {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.iter_mut().for_each(|item| item.visit(policy, f));
    }
}

/// A typed slot: its kind is the slot's, not whatever the value claims.
fn slot(pii: &mut Option<Pii>, kind: PiiKind, markup: Markup, f: &mut Visitor<'_>) {
    if let Some(pii) = pii {
        pii.kind = kind;
        f(pii, markup);
    }
}

/// Plain text that may mention people (an attribute's text, a server's reply): visited as free
/// text, so detectors scan it on the way out and tokens inside it are restored on the way in.
fn free_text(text: &mut String, f: &mut Visitor<'_>) {
    let mut pii = Pii { kind: PiiKind::FreeText, value: std::mem::take(text) };
    f(&mut pii, Markup::Text);
    *text = pii.value;
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

/// Records without personal data, so that every world's results can be walked alike.
macro_rules! no_pii {
    ($($ty:ty),*) => {$(
        impl PiiFields for $ty {
            fn visit(&mut self, _: &FieldPolicy, _: &mut Visitor<'_>) {}
        }
    )*};
}
no_pii!(Check, RiskUpdate);

/// A named free-form value (UEM attribute, SIEM field): personal when typed so, or when the
/// admin's policy names it (its text then becomes a `pii` of the policy's kind); any other text
/// is scanned as free text.
macro_rules! named_value {
    ($($record:ty => $value:ident),*) => {$(
        impl PiiFields for $record {
            fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
                if let $value::Text(text) = &mut self.value {
                    match policy.kind_of(&self.name) {
                        Some(kind) => {
                            let value = std::mem::take(text);
                            self.value = $value::Personal(Pii { kind: wit_kind(kind), value });
                        }
                        None => free_text(text, f),
                    }
                }
                if let $value::Personal(pii) = &mut self.value {
                    f(pii, Markup::Text);
                }
            }
        }
    )*};
}
named_value!(Attribute => AttributeValue, Field => FieldValue);

// ----- UEM -----

impl PiiFields for Device {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        slot(&mut self.name, PiiKind::DeviceName, Markup::Text, f);
        slot(&mut self.owner, PiiKind::PersonName, Markup::Text, f);
        slot(&mut self.user_name, PiiKind::UserName, Markup::Text, f);
        slot(&mut self.email, PiiKind::Email, Markup::Text, f);
        slot(&mut self.phone, PiiKind::Phone, Markup::Text, f);
        self.attributes.visit(policy, f);
    }
}

impl PiiFields for DevicePage {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.devices.visit(policy, f);
    }
}

impl PiiFields for App {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.attributes.visit(policy, f);
    }
}

// ----- SIEM -----

impl PiiFields for EventDevice {
    fn visit(&mut self, _: &FieldPolicy, f: &mut Visitor<'_>) {
        slot(&mut self.name, PiiKind::DeviceName, Markup::Text, f);
        slot(&mut self.owner, PiiKind::PersonName, Markup::Text, f);
        slot(&mut self.email, PiiKind::Email, Markup::Text, f);
        slot(&mut self.phone, PiiKind::Phone, Markup::Text, f);
    }
}

impl PiiFields for Event {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        slot(&mut self.message, PiiKind::FreeText, Markup::Text, f);
        self.device.visit(policy, f);
        self.fields.visit(policy, f);
    }
}

// ----- Mail -----

impl PiiFields for Address {
    fn visit(&mut self, _: &FieldPolicy, f: &mut Visitor<'_>) {
        self.email.kind = PiiKind::Email;
        f(&mut self.email, Markup::Text);
        slot(&mut self.display_name, PiiKind::PersonName, Markup::Text, f);
    }
}

impl PiiFields for Message {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.sender.visit(policy, f);
        for list in [&mut self.to, &mut self.cc, &mut self.bcc] {
            list.visit(policy, f);
        }
        self.reply_to.visit(policy, f);
        self.subject.kind = PiiKind::FreeText;
        f(&mut self.subject, Markup::Text);
        slot(&mut self.text_body, PiiKind::FreeText, Markup::Text, f);
        slot(&mut self.html_body, PiiKind::FreeText, Markup::Html, f);
    }
}

/// A server's reply quotes addresses (`550 5.1.1 <bob@corp.example>: unknown`).
impl PiiFields for ServerReply {
    fn visit(&mut self, _: &FieldPolicy, f: &mut Visitor<'_>) {
        free_text(&mut self.text, f);
    }
}

impl PiiFields for RefusedRecipient {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.address.kind = PiiKind::Email;
        f(&mut self.address, Markup::Text);
        self.reply.visit(policy, f);
    }
}

impl PiiFields for Delivery {
    fn visit(&mut self, policy: &FieldPolicy, f: &mut Visitor<'_>) {
        self.refused.visit(policy, f);
        self.reply.visit(policy, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::worlds::uem::{DeviceStatus, Ownership, Platform};

    #[test]
    fn slots_set_their_kind_whatever_the_plugin_said() {
        let mut device = Device {
            id: "d1".into(),
            name: Some(Pii { kind: PiiKind::FreeText, value: "Alice's iPhone".into() }),
            owner: None,
            user_name: None,
            email: None,
            phone: None,
            platform: Platform::Ios,
            os_name: None,
            os_version: None,
            manufacturer: None,
            model: None,
            ownership: Ownership::Corporate,
            status: DeviceStatus::Active,
            serial_number: None,
            imei: None,
            udid: None,
            wifi_mac: None,
            last_seen_ms: None,
            enrolled_ms: None,
            managed: None,
            compliant: None,
            compromised: None,
            encrypted: None,
            supervised: None,
            groups: vec![],
            attributes: vec![Attribute { name: "Notes".into(), value: AttributeValue::Text("call bob".into()) }],
        };
        let mut seen = Vec::new();
        device.visit(&FieldPolicy::default(), &mut |pii: &mut Pii, _| seen.push((pii.kind, pii.value.clone())));
        assert_eq!(
            seen,
            [(PiiKind::DeviceName, "Alice's iPhone".to_string()), (PiiKind::FreeText, "call bob".to_string())]
        );
        assert!(matches!(&device.attributes[0].value, AttributeValue::Text(t) if t == "call bob"));
    }
}
