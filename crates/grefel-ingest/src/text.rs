//! Reading the text label files datasets ship: streamed lines (CRLF, a UTF-8 byte-order mark and
//! stray non-UTF-8 bytes tolerated), whitespace and CSV field splitting, header sniffing, and
//! locating a file among the layouts a dataset is distributed in.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::IngestError;
use crate::source::{DatasetRoot, SourceFile};

/// The lines of a text file, streamed: `(1-based line number, line)` with the line ending
/// (`\n` or `\r\n`) and a leading byte-order mark removed; invalid UTF-8 is replaced, not fatal.
pub struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    dataset: String,
    line: usize,
    buf: Vec<u8>,
}

impl Lines {
    /// Opens `path` (a missing file is [`IngestError::MissingFile`] described by `expected`).
    pub fn open(dataset: &str, path: &Path, expected: &'static str) -> Result<Lines, IngestError> {
        let file = File::open(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => {
                IngestError::MissingFile { dataset: dataset.into(), path: path.into(), expected }
            }
            _ => IngestError::Io { dataset: dataset.into(), path: path.into(), source },
        })?;
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 16, file),
            path: path.into(),
            dataset: dataset.into(),
            line: 0,
            buf: Vec::new(),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for Lines {
    type Item = Result<(usize, String), IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                let mut bytes = self.buf.as_slice();
                if self.line == 1 {
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                Some(Ok((self.line, String::from_utf8_lossy(bytes).into_owned())))
            }
            Err(source) => {
                Some(Err(IngestError::Io { dataset: self.dataset.clone(), path: self.path.clone(), source }))
            }
        }
    }
}

/// Fields of a line separated by whitespace or any of `extra` (empty fields dropped).
pub fn split_fields<'a>(line: &'a str, extra: &'a [char]) -> impl Iterator<Item = &'a str> + 'a {
    line.split(move |c: char| c.is_whitespace() || extra.contains(&c)).filter(|f| !f.is_empty())
}

/// Splits one CSV line on commas; a field may be double-quoted (`""` inside quotes is a quote).
/// `None` when a quote is not closed or text follows a closing quote.
pub fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// Header sniffing: the position of each of `names` among `fields` (trimmed, case-insensitive),
/// or `None` when the line is not a header naming all of them.
pub fn header_positions(fields: &[String], names: &[&str]) -> Option<Vec<usize>> {
    names.iter().map(|n| fields.iter().position(|f| f.trim().eq_ignore_ascii_case(n))).collect()
}

/// The first of `candidates` (paths relative to the root) that the root listing holds.
pub fn find_file<'a>(root: &'a DatasetRoot, candidates: &[&str]) -> Option<&'a SourceFile> {
    candidates
        .iter()
        .find_map(|c| root.files.binary_search_by(|f| f.rel.as_str().cmp(c)).ok().map(|i| &root.files[i]))
}

/// The error for a required file found at none of `candidates`: names the first (the expected
/// layout) and lists the others.
pub fn missing_file(root: &DatasetRoot, candidates: &[&str], expected: &'static str) -> IngestError {
    let first = candidates.first().copied().unwrap_or_default();
    if candidates.len() > 1 {
        tracing::warn!(dataset = %root.dataset, tried = ?candidates, "required file not found");
    }
    IngestError::MissingFile { dataset: root.dataset.clone(), path: root.path.join(first), expected }
}

/// The last component of a `/`-separated relative path.
pub fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        assert_eq!(split_csv("a,b,,c"), Some(vec!["a".into(), "b".into(), "".into(), "c".into()]));
        assert_eq!(
            split_csv("0,\"1 2 3\",Training"),
            Some(vec!["0".into(), "1 2 3".into(), "Training".into()])
        );
        assert_eq!(split_csv("\"a\"\"b\",\"\""), Some(vec!["a\"b".into(), "".into()]));
        assert_eq!(split_csv("\"open,x"), None);
        assert_eq!(split_csv("\"a\"b,c"), None);
        assert_eq!(split_csv(""), Some(vec!["".into()]));
    }

    #[test]
    fn lines_and_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("l.txt");
        std::fs::write(&p, b"\xEF\xBB\xBFa b\r\n\r\nc\td \xFF\nlast").expect("write");
        let lines: Vec<(usize, String)> =
            Lines::open("t", &p, "a test file").expect("open").collect::<Result<_, _>>().expect("read");
        assert_eq!(lines[0], (1, "a b".to_string()));
        assert_eq!(lines[1], (2, String::new()));
        assert_eq!(lines[2], (3, "c\td \u{FFFD}".to_string()));
        assert_eq!(lines[3], (4, "last".to_string()));
        assert_eq!(split_fields(" 1.5;2\t3 ,4 ", &[';', ',']).collect::<Vec<_>>(), ["1.5", "2", "3", "4"]);
        let err = Lines::open("t", &dir.path().join("nope.txt"), "the label file").err().expect("missing");
        assert!(matches!(err, IngestError::MissingFile { .. }), "{err}");
        let header: Vec<String> = ["emotion", " pixels", "Usage"].map(String::from).into();
        assert_eq!(header_positions(&header, &["usage", "pixels"]), Some(vec![2, 1]));
        assert_eq!(header_positions(&header, &["label"]), None);
        assert_eq!(file_name("a/b/c.png"), "c.png");
    }
}
