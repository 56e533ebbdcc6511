//! Two small text storables the mixed-container tests put side by side,
//! with the same type names as the Python classes of their scripts
//! (`@dman.storable(name="note")` with `__ext__ = ".txt"`, and
//! `name="person"` with `".person"`): the file holds the text as UTF-8.

use dman::Storable;

/// A note: its text in a `.txt` file.
#[derive(Storable, Debug, Clone, PartialEq)]
#[dman(name = "note", ext = ".txt")]
pub struct Note {
    /// The note's text.
    pub text: String,
}

/// A person: the name in a `.person` file (the seed's custom storable).
#[derive(Storable, Debug, Clone, PartialEq)]
#[dman(name = "person", ext = ".person")]
pub struct Person {
    /// The person's name.
    pub name: String,
}

impl Note {
    /// A note of `text`.
    pub fn new(text: &str) -> Self {
        Note { text: text.into() }
    }

    fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.text.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, std::str::Utf8Error> {
        Ok(Note::new(std::str::from_utf8(bytes)?))
    }
}

impl Person {
    /// A person called `name`.
    pub fn new(name: &str) -> Self {
        Person { name: name.into() }
    }

    fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.name.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, std::str::Utf8Error> {
        Ok(Person::new(std::str::from_utf8(bytes)?))
    }
}
