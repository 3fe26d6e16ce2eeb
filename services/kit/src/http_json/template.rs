//! `google.api.http` path templates (`/v1/{name=jurisdictions/*/incidents/*}:amend`):
//! parsed once at start-up, matched against request paths.

use std::borrow::Cow;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: the rest of the path (last only).
    Rest,
}

/// A variable: the request field it fills and the segments it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// The field path, e.g. `["rating_set", "key_observation"]`.
    pub(crate) field: Vec<String>,
    start: usize,
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    segments: Vec<Segment>,
    pub(crate) variables: Vec<Variable>,
    verb: Option<String>,
}

impl PathTemplate {
    /// Parses a template as `google/api/http.proto` defines it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let path = text
            .strip_prefix('/')
            .ok_or_else(|| format!("`{text}` must start with /"))?;
        // The verb follows the last segment, after any variable has closed.
        let tail = path.rfind(['/', '}']).map_or(0, |i| i + 1);
        let (path, verb) = match path[tail..].find(':') {
            Some(i) => (&path[..tail + i], Some(path[tail + i + 1..].to_owned())),
            None => (path, None),
        };
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut rest = path;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('{') {
                let close = inner
                    .find('}')
                    .ok_or_else(|| format!("`{text}`: unclosed variable"))?;
                let (field, pattern) = inner[..close]
                    .split_once('=')
                    .unwrap_or((&inner[..close], "*"));
                let start = segments.len();
                for part in pattern.split('/') {
                    segments.push(segment(part, text)?);
                }
                variables.push(Variable {
                    field: field.split('.').map(str::to_owned).collect(),
                    start,
                    end: segments.len(),
                });
                rest = &inner[close + 1..];
            } else {
                let end = rest.find('/').unwrap_or(rest.len());
                segments.push(segment(&rest[..end], text)?);
                rest = &rest[end..];
            }
            rest = rest.strip_prefix('/').unwrap_or(rest);
        }
        if let Some(i) = segments.iter().position(|s| *s == Segment::Rest)
            && i + 1 != segments.len()
        {
            return Err(format!("`{text}`: ** must be the last segment"));
        }
        Ok(Self {
            segments,
            variables,
            verb,
        })
    }

    /// The values of the variables if `path` matches, percent-decoded, in
    /// the order of [`Self::variables`].
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<String>> {
        // A client that escapes a name's slashes (`jurisdictions%2Fus-wi`)
        // means the same path.
        let unescaped;
        let path = if path.contains("%2F") || path.contains("%2f") {
            unescaped = path.replace("%2F", "/").replace("%2f", "/");
            unescaped.as_str()
        } else {
            path
        };
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let parts: Vec<&str> = path.split('/').collect();
        let mut ends = Vec::with_capacity(self.segments.len());
        let mut at = 0;
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(at) != Some(&literal.as_str()) {
                        return None;
                    }
                    at += 1;
                }
                Segment::One => {
                    if parts.get(at).is_none_or(|p| p.is_empty()) {
                        return None;
                    }
                    at += 1;
                }
                Segment::Rest => at = parts.len(),
            }
            ends.push(at);
        }
        if at != parts.len() {
            return None;
        }
        let begin = |i: usize| if i == 0 { 0 } else { ends[i - 1] };
        Some(
            self.variables
                .iter()
                .map(|v| {
                    parts[begin(v.start)..ends[v.end - 1]]
                        .iter()
                        .map(|p| decode(p))
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .collect(),
        )
    }

    /// The template in OpenAPI's form, each `*` a path parameter named after
    /// the collection before it: `/v1/jurisdictions/{jurisdictionsId}/incidents/{incidentsId}:amend`.
    pub(crate) fn openapi_path(&self) -> String {
        let mut out = String::new();
        for (name, segment) in self.openapi_segments() {
            out.push('/');
            match (name, segment) {
                (Some(name), _) => {
                    out.push('{');
                    out.push_str(&name);
                    out.push('}');
                }
                (None, Segment::Literal(l)) => out.push_str(l),
                (None, _) => {}
            }
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        out
    }

    /// The path parameters of [`Self::openapi_path`], each with the variable
    /// it is part of.
    pub(crate) fn openapi_parameters(&self) -> Vec<(String, &Variable)> {
        let names = self.openapi_segments();
        self.variables
            .iter()
            .flat_map(|v| {
                names[v.start..v.end]
                    .iter()
                    .filter_map(move |(name, _)| name.clone().map(|n| (n, v)))
            })
            .collect()
    }

    fn openapi_segments(&self) -> Vec<(Option<String>, &Segment)> {
        let mut previous = "";
        let mut out = Vec::with_capacity(self.segments.len());
        for (i, segment) in self.segments.iter().enumerate() {
            let name = match segment {
                Segment::Literal(l) => {
                    previous = l;
                    None
                }
                Segment::One if !previous.is_empty() => Some(format!("{previous}Id")),
                Segment::One => Some(format!("segment{i}")),
                Segment::Rest => Some("path".to_owned()),
            };
            out.push((name, segment));
        }
        out
    }

    /// A variable's pattern, e.g. `jurisdictions/*/incidents/*`.
    pub(crate) fn pattern(&self, variable: &Variable) -> String {
        self.segments[variable.start..variable.end]
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.as_str(),
                Segment::One => "*",
                Segment::Rest => "**",
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn segment(part: &str, template: &str) -> Result<Segment, String> {
    match part {
        "*" => Ok(Segment::One),
        "**" => Ok(Segment::Rest),
        "" => Err(format!("`{template}`: empty segment")),
        literal if literal.contains(['{', '}', '=', '*']) => {
            Err(format!("`{template}`: bad segment `{literal}`"))
        }
        literal => Ok(Segment::Literal(literal.to_owned())),
    }
}

fn decode(part: &str) -> String {
    match percent_encoding::percent_decode_str(part).decode_utf8_lossy() {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_verbs_and_literals_match_exactly() {
        let t = PathTemplate::parse("/v1/{name=jurisdictions/*/incidents/*}:amend")
            .expect("test input");
        assert_eq!(
            t.matches("/v1/jurisdictions/us-wi/incidents/abc:amend"),
            Some(vec!["jurisdictions/us-wi/incidents/abc".to_owned()])
        );
        assert_eq!(t.matches("/v1/jurisdictions/us-wi/incidents/abc"), None);
        assert_eq!(
            t.matches("/v1/jurisdictions/us-wi/incidents/abc:other"),
            None
        );
        assert_eq!(t.matches("/v1/jurisdictions//incidents/abc:amend"), None);
        assert_eq!(t.matches("/v1/jurisdictions/us-wi/reviews/abc:amend"), None);
        assert_eq!(
            t.openapi_path(),
            "/v1/jurisdictions/{jurisdictionsId}/incidents/{incidentsId}:amend"
        );

        let list =
            PathTemplate::parse("/v1/{parent=jurisdictions/*}/incidents").expect("test input");
        assert_eq!(
            list.matches("/v1/jurisdictions/us%2Dwi/incidents"),
            Some(vec!["jurisdictions/us-wi".to_owned()])
        );
        assert_eq!(list.matches("/v1/jurisdictions/us-wi/incidents/x"), None);
        assert_eq!(list.pattern(&list.variables[0]), "jurisdictions/*");

        let custom = PathTemplate::parse("/v1/incidents:report").expect("test input");
        assert_eq!(custom.matches("/v1/incidents:report"), Some(vec![]));
        assert_eq!(custom.matches("/v1/incidents"), None);

        let nested = PathTemplate::parse("/v1/{rating_set.key_observation=a/*/b/*}/ratingSets")
            .expect("test input");
        assert_eq!(nested.variables[0].field, ["rating_set", "key_observation"]);
        assert_eq!(
            nested.matches("/v1/a/1/b/2/ratingSets"),
            Some(vec!["a/1/b/2".to_owned()])
        );

        let rest = PathTemplate::parse("/v1/{name=files/**}").expect("test input");
        assert_eq!(
            rest.matches("/v1/files/a/b/c"),
            Some(vec!["files/a/b/c".to_owned()])
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in [
            "v1/x",
            "/v1/{name=x",
            "/v1/{name=**}/x",
            "/v1//x",
            "/v1/a*b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
