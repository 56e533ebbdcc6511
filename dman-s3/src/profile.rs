//! The standard AWS credential chain's middle step: a profile of the
//! shared files `~/.aws/credentials` and `~/.aws/config`.
//!
//! The files are INI as the AWS tools write them, read with `rust-ini`:
//! values are taken as they are (no quotes, no escapes: a secret key may
//! hold any character), and nested settings (`s3 =` followed by indented
//! `endpoint_url = ...`) keep their indentation, so that they are never
//! taken for the profile's own.

use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};

use crate::error::S3ConfigError;

/// A profile's settings that dman uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The profile's name.
    pub name: String,
    /// The file the keys came from.
    pub keys_file: Option<PathBuf>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    /// The endpoint and the file that names it.
    pub endpoint_url: Option<(String, PathBuf)>,
    /// A way of getting credentials that dman does not follow
    /// (`credential_process`, `sso_session`, `role_arn`, ...).
    pub unsupported: Option<(String, PathBuf)>,
    /// Whether either file has a section for the profile.
    pub found: bool,
}

/// The settings that name a source of credentials dman does not follow.
const UNSUPPORTED: [&str; 6] = [
    "credential_process",
    "sso_session",
    "sso_start_url",
    "role_arn",
    "web_identity_token_file",
    "credential_source",
];

/// Reads the profile `name` from the shared credentials file and the
/// config file (missing files are empty). The credentials file's settings
/// win over the config file's, as in the AWS tools.
pub(crate) fn load(
    name: &str,
    credentials_file: &Path,
    config_file: &Path,
) -> Result<Profile, S3ConfigError> {
    let mut profile = Profile {
        name: name.to_owned(),
        ..Profile::default()
    };
    // The config file names profiles `[profile NAME]`, except `[default]`;
    // the credentials file names them `[NAME]`.
    let config_sections = if name == "default" {
        vec!["default".to_owned(), "profile default".to_owned()]
    } else {
        vec![format!("profile {name}")]
    };
    for (file, sections) in [
        (credentials_file, vec![name.to_owned()]),
        (config_file, config_sections),
    ] {
        let Some(ini) = read(file)? else {
            continue;
        };
        for section in &sections {
            let Some(props) = ini.section(Some(section.as_str())) else {
                continue;
            };
            profile.found = true;
            let get = |key: &str| {
                props
                    .get(key)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            if profile.access_key_id.is_none() && profile.secret_access_key.is_none() {
                profile.access_key_id = get("aws_access_key_id");
                profile.secret_access_key = get("aws_secret_access_key");
                profile.session_token =
                    get("aws_session_token").or_else(|| get("aws_security_token"));
                if profile.access_key_id.is_some() {
                    profile.keys_file = Some(file.to_owned());
                }
            }
            if profile.region.is_none() {
                profile.region = get("region");
            }
            if profile.endpoint_url.is_none() {
                profile.endpoint_url = get("endpoint_url").map(|url| (url, file.to_owned()));
            }
            if profile.unsupported.is_none() {
                profile.unsupported = UNSUPPORTED
                    .iter()
                    .find(|key| get(key).is_some())
                    .map(|key| ((*key).to_owned(), file.to_owned()));
            }
        }
    }
    Ok(profile)
}

/// A file parsed, or `None` when it does not exist.
fn read(file: &Path) -> Result<Option<Ini>, S3ConfigError> {
    let text = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(S3ConfigError::SharedFile {
                file: file.to_owned(),
                reason: e.to_string(),
            })
        }
    };
    let text = String::from_utf8(text).map_err(|_| S3ConfigError::SharedFile {
        file: file.to_owned(),
        reason: "it is not UTF-8 text".into(),
    })?;
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: true,
    };
    Ini::load_from_str_opt(&text, options)
        .map(Some)
        .map_err(|e| S3ConfigError::SharedFile {
            file: file.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn profiles_come_from_both_files_credentials_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let creds = write(
            dir.path(),
            "credentials",
            "# a comment\n[default]\naws_access_key_id = AK\naws_secret_access_key = s/e+c\"r\\et\n\n\
             [team]\naws_access_key_id=TK\naws_secret_access_key=TS\naws_session_token=TT\n",
        );
        let config = write(
            dir.path(),
            "config",
            "[default]\nregion = eu-west-1\n\n[profile team]\nregion = us-west-2\n\
             s3 =\n  endpoint_url = http://nested:1\nendpoint_url = http://127.0.0.1:9000\n\
             aws_access_key_id = ignored\n[profile sso]\nsso_session = x\n",
        );
        let default = load("default", &creds, &config).expect("default");
        assert_eq!(default.access_key_id.as_deref(), Some("AK"));
        assert_eq!(default.secret_access_key.as_deref(), Some("s/e+c\"r\\et"));
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(default.keys_file.as_deref(), Some(creds.as_path()));
        assert!(default.endpoint_url.is_none());

        let team = load("team", &creds, &config).expect("team");
        assert_eq!(team.access_key_id.as_deref(), Some("TK"));
        assert_eq!(team.session_token.as_deref(), Some("TT"));
        assert_eq!(team.region.as_deref(), Some("us-west-2"));
        assert_eq!(
            team.endpoint_url.as_ref().map(|(url, _)| url.as_str()),
            Some("http://127.0.0.1:9000")
        );

        let sso = load("sso", &creds, &config).expect("sso");
        assert!(sso.found);
        assert_eq!(
            sso.unsupported.as_ref().map(|(key, _)| key.as_str()),
            Some("sso_session")
        );

        let none = load("nobody", &creds, &config).expect("nobody");
        assert!(!none.found);
        let missing =
            load("default", &dir.path().join("x"), &dir.path().join("y")).expect("no files");
        assert!(!missing.found);
    }
}
