//! Versioned data files (instruments, rule sets): the shipped file or every
//! `*.toml` of a directory, and errors located by file, line and column.

use std::path::Path;

/// `(file name, text)` of each file: `shipped` when `dir` is not given, else
/// every `*.toml` of `dir` in name order.
pub fn toml_files(
    dir: Option<&Path>,
    shipped: (&str, &str),
) -> anyhow::Result<Vec<(String, String)>> {
    let Some(dir) = dir else {
        return Ok(vec![(shipped.0.to_owned(), shipped.1.to_owned())]);
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// Every version the files define (`shipped`, or every `*.toml` of `dir`),
/// parsed by `parse` and keyed by `name`; a name defined twice is an error
/// naming the second file, and no version at all is an error.
pub fn versions<T>(
    dir: Option<&Path>,
    shipped: (&str, &str),
    parse: impl Fn(&str, &str) -> anyhow::Result<T>,
    name: impl Fn(&T) -> String,
) -> anyhow::Result<std::collections::BTreeMap<String, T>> {
    let mut versions = std::collections::BTreeMap::new();
    for (file, text) in toml_files(dir, shipped)? {
        let version = parse(&file, &text)?;
        let key = name(&version);
        if versions.insert(key.clone(), version).is_some() {
            anyhow::bail!("{file}: {key} is defined twice");
        }
    }
    if versions.is_empty() {
        anyhow::bail!(
            "no versions loaded from {}",
            dir.map_or_else(|| shipped.0.to_owned(), |d| d.display().to_string())
        );
    }
    Ok(versions)
}

/// `file:line:column` of byte `offset` of `text` (both counted from 1).
pub fn location(file: &str, text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{file}:{line}:{column}")
}

/// An error at byte `offset` of `file`'s `text`.
pub fn error_at(
    file: &str,
    text: &str,
    offset: usize,
    message: impl std::fmt::Display,
) -> anyhow::Error {
    anyhow::anyhow!("{}: {message}", location(file, text, offset))
}

/// An error located where TOML parsing failed.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> anyhow::Error {
    error_at(
        file,
        text,
        e.span().map_or(0, |s| s.start),
        e.message().trim(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(location("f.toml", text, 0), "f.toml:1:1");
        assert_eq!(location("f.toml", text, 6), "f.toml:2:1");
        assert_eq!(
            location("f.toml", text, text.find('x').expect("x")),
            "f.toml:2:6"
        );
        assert_eq!(location("f.toml", text, 9_999), "f.toml:3:1");
    }
}
