//! Which endpoint a method and path name. IIS matches paths case-insensitively; a path it does not
//! know is an HTML 404, a known path with another method an HTML 405.

use hyper::Method;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Token,
    DeviceSearch,
    DeviceByAlternateId,
    Device(String),
    DeviceApps(String),
    DeviceAppSearch(String),
    DeviceTags(String),
    SetCustomAttributes(String),
    RemoveCustomAttributes(String),
    GroupSearch,
    GroupChildren(String),
    TagSearch,
    AddTag,
    TagAddDevices(String),
    TagRemoveDevices(String),
    TagDevices(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Unrouted {
    NotFound,
    MethodNotAllowed,
}

impl Route {
    pub fn parse(method: &Method, path: &str) -> Result<Self, Unrouted> {
        let lower = path.to_ascii_lowercase();
        let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
        // Ids keep their case (UUIDs are compared case-insensitively later anyway).
        let original: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let id = |index: usize| original.get(index).map_or(String::new(), |s| s.to_string());
        let (route, allowed): (Route, &[Method]) = match segments.as_slice() {
            ["connect", "token"] | ["oauth", "token"] => (Self::Token, &[Method::POST]),
            ["api", "mdm", "devices", "search"] => (Self::DeviceSearch, &[Method::GET]),
            ["api", "mdm", "devices"] => (Self::DeviceByAlternateId, &[Method::GET]),
            ["api", "mdm", "devices", _] => (Self::Device(id(3)), &[Method::GET]),
            ["api", "mdm", "devices", _, "apps"] => (Self::DeviceApps(id(3)), &[Method::GET]),
            ["api", "mdm", "devices", _, "apps", "search"] => (Self::DeviceAppSearch(id(3)), &[Method::GET]),
            ["api", "mdm", "devices", _, "tags"] => (Self::DeviceTags(id(3)), &[Method::GET]),
            ["api", "mdm", "devices", _, "customattributes"] => {
                if *method == Method::DELETE {
                    return Ok(Self::RemoveCustomAttributes(id(3)));
                }
                (Self::SetCustomAttributes(id(3)), &[Method::PUT])
            }
            ["api", "system", "groups", "search"] => (Self::GroupSearch, &[Method::GET]),
            ["api", "system", "groups", _, "children"] => (Self::GroupChildren(id(3)), &[Method::GET]),
            ["api", "mdm", "tags", "search"] => (Self::TagSearch, &[Method::GET]),
            ["api", "mdm", "tags", "addtag"] => (Self::AddTag, &[Method::POST]),
            ["api", "mdm", "tags", _, "adddevices"] => (Self::TagAddDevices(id(3)), &[Method::POST]),
            ["api", "mdm", "tags", _, "removedevices"] => (Self::TagRemoveDevices(id(3)), &[Method::POST]),
            ["api", "mdm", "tags", _, "devices"] => (Self::TagDevices(id(3)), &[Method::GET]),
            _ => return Err(Unrouted::NotFound),
        };
        if allowed.contains(method) { Ok(route) } else { Err(Unrouted::MethodNotAllowed) }
    }

    /// Its name in `Stats::requests`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::DeviceSearch => "devices_search",
            Self::DeviceByAlternateId => "device_by_alternate_id",
            Self::Device(_) => "device",
            Self::DeviceApps(_) => "device_apps",
            Self::DeviceAppSearch(_) => "device_apps_search",
            Self::DeviceTags(_) => "device_tags",
            Self::SetCustomAttributes(_) => "set_custom_attributes",
            Self::RemoveCustomAttributes(_) => "remove_custom_attributes",
            Self::GroupSearch => "groups_search",
            Self::GroupChildren(_) => "group_children",
            Self::TagSearch => "tags_search",
            Self::AddTag => "tags_add",
            Self::TagAddDevices(_) => "tags_add_devices",
            Self::TagRemoveDevices(_) => "tags_remove_devices",
            Self::TagDevices(_) => "tag_devices",
        }
    }

    /// The API versions the endpoint serves; any other is answered as v1.
    pub fn versions(&self) -> &'static [u32] {
        match self {
            Self::DeviceSearch => &[1, 2, 3],
            Self::Device(_) | Self::DeviceByAlternateId | Self::GroupSearch => &[1, 2],
            _ => &[1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_ignore_case_and_check_methods() {
        let get = |path: &str| Route::parse(&Method::GET, path);
        assert_eq!(get("/API/mdm/devices/search"), Ok(Route::DeviceSearch));
        assert_eq!(get("/api/MDM/Devices/Search/"), Ok(Route::DeviceSearch));
        assert_eq!(get("/API/mdm/devices/10001"), Ok(Route::Device("10001".into())));
        assert_eq!(get("/API/mdm/devices/AbC-1/apps/search"), Ok(Route::DeviceAppSearch("AbC-1".into())));
        assert_eq!(get("/API/mdm/nothing"), Err(Unrouted::NotFound));
        assert_eq!(get("/API/mdm/tags/addtag"), Err(Unrouted::MethodNotAllowed));
        assert_eq!(
            Route::parse(&Method::DELETE, "/API/mdm/devices/1/customattributes"),
            Ok(Route::RemoveCustomAttributes("1".into()))
        );
        assert_eq!(Route::parse(&Method::POST, "/connect/token"), Ok(Route::Token));
        assert_eq!(Route::DeviceSearch.versions(), [1, 2, 3]);
    }
}
