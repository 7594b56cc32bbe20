//! The "test connection" button: settings, authentication (with the credentials themselves, not a
//! cached token), organization groups (id, device count), the tenant's device count, the label.

use msc_sdk::self_test::check;
use msc_sdk::{Check, Error};

use crate::client::Client;
use crate::settings::{Auth, Label, Settings};
use crate::{inventory, label};

pub fn run() -> Vec<Check> {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => return vec![check("settings", Err(e))],
    };
    // The API host and tenant code are the customer's secrets too: not repeated here.
    let mut checks = vec![check("settings", Ok("every required setting and secret is present".into()))];
    let mode = match settings.auth {
        Auth::Basic { .. } => "basic auth with the tenant code",
        Auth::OAuth { .. } => "an OAuth token and the tenant code",
    };
    let mut client = Client::new(settings);
    // One call proves the credentials and the tenant code, and lists the groups for the next check.
    let signed_in = client.sign_in_fresh().and_then(|()| inventory::groups(&mut client));
    let known = match signed_in {
        Ok(known) => {
            checks.push(check("authentication", Ok(format!("signed in with {mode}"))));
            known
        }
        Err(e) => {
            checks.push(check("authentication", Err(e)));
            return checks;
        }
    };
    let names = client.settings.groups.clone();
    if !names.is_empty() {
        match inventory::resolve_groups(&mut client, &names) {
            Ok(groups) => {
                for group in groups {
                    let counted = inventory::count(&mut client, Some(group.id))
                        .map(|(count, _)| format!("id {}, {count} devices", group.id));
                    let name = if group.name.is_empty() { group.id.to_string() } else { group.name.clone() };
                    checks.push(check(&format!("organization group `{name}`"), counted));
                }
            }
            Err(e) => checks.push(check("organization groups", Err(e))),
        }
    } else {
        checks.push(check("organization groups", Ok(format!("{} visible; syncing every device", known.len()))));
    }
    match inventory::count(&mut client, None) {
        Ok((count, _)) => checks.push(check("devices", Ok(format!("{count} devices in the tenant")))),
        Err(e) => checks.push(check("devices", Err(e))),
    }
    checks.push(label_check(&mut client));
    checks
}

fn label_check(client: &mut Client) -> Check {
    match &client.settings.label {
        Label::Tags { prefix, create } => {
            let (prefix, create) = (prefix.clone(), *create);
            let name = format!("risk tags `{prefix}_Risk_*`");
            let outcome = label::risk_tags(client, &prefix, false).and_then(|tags| {
                let missing = tags.iter().filter(|(_, id)| id.is_none()).count();
                match (missing, create) {
                    (0, _) => Ok("the four level tags exist".to_string()),
                    (_, true) => Ok(format!("{missing} of the four level tags will be created at first use")),
                    (_, false) => Err(label::missing_tags(&prefix, &tags)),
                }
            });
            check(&name, outcome)
        }
        Label::Attribute { name, .. } => check(
            &format!("risk attribute `{name}`"),
            Ok::<_, Error>("set by name on each device; Workspace ONE creates it at first use".into()),
        ),
    }
}
