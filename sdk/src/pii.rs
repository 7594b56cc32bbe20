//! Constructors for [`Pii`] values, one per kind.

use crate::{Pii, PiiKind};

impl Pii {
    /// Personal data of `kind`.
    pub fn new(kind: PiiKind, value: impl Into<String>) -> Self {
        Self { kind, value: value.into() }
    }

    /// A device's display name.
    pub fn device_name(value: impl Into<String>) -> Self {
        Self::new(PiiKind::DeviceName, value)
    }

    /// A person's name, such as a device's owner.
    pub fn person_name(value: impl Into<String>) -> Self {
        Self::new(PiiKind::PersonName, value)
    }

    /// An account or login name.
    pub fn user_name(value: impl Into<String>) -> Self {
        Self::new(PiiKind::UserName, value)
    }

    /// An email address.
    pub fn email(value: impl Into<String>) -> Self {
        Self::new(PiiKind::Email, value)
    }

    /// A phone number, in any format (the connector normalizes it before tokenizing).
    pub fn phone(value: impl Into<String>) -> Self {
        Self::new(PiiKind::Phone, value)
    }

    /// Another identifier that names a person (asset tag, employee number).
    pub fn identifier(value: impl Into<String>) -> Self {
        Self::new(PiiKind::Identifier, value)
    }

    /// Free text that may mention people.
    pub fn free_text(value: impl Into<String>) -> Self {
        Self::new(PiiKind::FreeText, value)
    }
}
