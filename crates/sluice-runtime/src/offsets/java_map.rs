//! The standalone offset file: a Java-serialized `java.util.HashMap<byte[], byte[]>`.
//!
//! Kafka Connect's `FileOffsetBackingStore` saves source offsets with
//! `ObjectOutputStream.writeObject(HashMap<byte[], byte[]>)`; keys are JSON such as
//! `["local-file-source",{"filename":"/tmp/x"}]`, values JSON such as `{"position":30}` or
//! null. Users switching between Kafka Connect and Sluice keep that file, so this module
//! reads what Java writes and writes what Java reads, byte for byte where Java's output is
//! deterministic.
//!
//! This is not a general Java deserializer: it understands exactly one object graph (a
//! `HashMap` of `byte[]`), follows the stream grammar of the Java Object Serialization
//! Specification (chapter 6) for it, and rejects everything else with a typed error naming
//! the byte offset. It never instantiates anything named by the input.

/// Map entries: key bytes and value bytes (`None` for a Java `null` value).
pub type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

const STREAM_MAGIC: [u8; 2] = [0xAC, 0xED];
const STREAM_VERSION: [u8; 2] = [0x00, 0x05];

const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_RESET: u8 = 0x79;
const TC_BLOCKDATALONG: u8 = 0x7A;
const TC_LONGSTRING: u8 = 0x7C;
const TC_PROXYCLASSDESC: u8 = 0x7D;

const BASE_WIRE_HANDLE: u32 = 0x7E_0000;

const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;

const HASHMAP_CLASS: &str = "java.util.HashMap";
const HASHMAP_SUID: i64 = 362_498_820_763_181_265;
const BYTE_ARRAY_CLASS: &str = "[B";
const BYTE_ARRAY_SUID: i64 = -5_984_413_125_824_719_648;

/// `HashMap.DEFAULT_LOAD_FACTOR`.
const LOAD_FACTOR: f32 = 0.75;
const MAXIMUM_CAPACITY: u64 = 1 << 30;

/// Java numbers handles in stream order: the HashMap descriptor, the map, then the `[B`
/// descriptor, which every array after the first refers back to.
const HANDLE_BYTE_ARRAY_DESC: u32 = BASE_WIRE_HANDLE + 2;

/// Why an offset file could not be decoded. Every variant names the byte offset where
/// decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JavaMapError {
    #[error(
        "not a Java serialization stream: it starts with {found:02X?}, expected AC ED 00 05 \
         (is this a Kafka Connect standalone offset file?)"
    )]
    BadHeader { found: Vec<u8> },

    #[error("data ends at byte {offset}, where {expected} was expected (truncated file?)")]
    Truncated {
        offset: usize,
        expected: &'static str,
    },

    #[error("byte {offset}: found 0x{found:02X}, expected {expected}")]
    Unexpected {
        offset: usize,
        found: u8,
        expected: &'static str,
    },

    #[error("byte {offset}: found class {found} (serialVersionUID {suid}), expected {expected}")]
    WrongClass {
        offset: usize,
        found: String,
        suid: i64,
        expected: &'static str,
    },

    #[error("byte {offset}: back-reference to handle 0x{handle:X}, which {problem}")]
    BadReference {
        offset: usize,
        handle: u32,
        problem: &'static str,
    },

    #[error("byte {offset}: {what} is {value}; it cannot be negative")]
    Negative {
        offset: usize,
        what: &'static str,
        value: i32,
    },

    #[error(
        "byte {offset}: map entry {index} has a null key; Kafka Connect offset keys are \
         never null"
    )]
    NullKey { offset: usize, index: usize },

    #[error("byte {offset}: {what} is not supported in an offset file")]
    Unsupported { offset: usize, what: &'static str },

    #[error("byte {offset}: {count} more byte(s) follow the map; expected the end of the file")]
    TrailingData { offset: usize, count: usize },
}

impl JavaMapError {
    /// Byte offset in the input where decoding stopped.
    pub fn offset(&self) -> usize {
        match self {
            JavaMapError::BadHeader { .. } => 0,
            JavaMapError::Truncated { offset, .. }
            | JavaMapError::Unexpected { offset, .. }
            | JavaMapError::WrongClass { offset, .. }
            | JavaMapError::BadReference { offset, .. }
            | JavaMapError::Negative { offset, .. }
            | JavaMapError::NullKey { offset, .. }
            | JavaMapError::Unsupported { offset, .. }
            | JavaMapError::TrailingData { offset, .. } => *offset,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Serializes the entries exactly as `ObjectOutputStream.writeObject` serializes a
/// `java.util.HashMap<byte[], byte[]>` built with `new HashMap<>()` and one `put` per entry
/// (what `FileOffsetBackingStore.save` does).
///
/// Entries are written in the given order. Java writes them in bucket order, which depends
/// on `byte[]` identity hash codes, so Java's own output for two or more entries is not
/// reproducible; it reads any order. Keys should be distinct: Java keeps every entry on
/// read, since `byte[]` keys compare by identity.
///
/// Java cannot represent an array of more than `i32::MAX` bytes or a map of more than
/// `i32::MAX` entries; offsets are tens of bytes, and such input is not supported (the
/// length is clamped, giving a file Java rejects rather than misreads).
pub fn encode(entries: &[(Vec<u8>, Option<Vec<u8>>)]) -> Vec<u8> {
    let payload: usize = entries
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 18)
        .sum();
    let mut out = Vec::with_capacity(96 + payload);
    let (buckets, threshold) = java_table_size(entries.len());

    out.extend_from_slice(&STREAM_MAGIC);
    out.extend_from_slice(&STREAM_VERSION);

    // The map object and its class descriptor (handle 0).
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    write_utf(&mut out, HASHMAP_CLASS);
    out.extend_from_slice(&HASHMAP_SUID.to_be_bytes());
    out.push(SC_SERIALIZABLE | SC_WRITE_METHOD);
    out.extend_from_slice(&2u16.to_be_bytes());
    // Serializable fields, primitives sorted by name.
    out.push(b'F');
    write_utf(&mut out, "loadFactor");
    out.push(b'I');
    write_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA); // no class annotations
    out.push(TC_NULL); // AbstractMap is not Serializable: no superclass descriptor
                       // The map is handle 1. defaultWriteObject: the field values.
    out.extend_from_slice(&LOAD_FACTOR.to_be_bytes());
    out.extend_from_slice(&threshold.to_be_bytes());
    // HashMap.writeObject: bucket count and size as block data, then the entries.
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&buckets.to_be_bytes());
    out.extend_from_slice(&java_int(entries.len()).to_be_bytes());

    let mut byte_array_desc_written = false;
    for (key, value) in entries {
        write_byte_array(&mut out, key, &mut byte_array_desc_written);
        match value {
            Some(value) => write_byte_array(&mut out, value, &mut byte_array_desc_written),
            None => out.push(TC_NULL),
        }
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

/// `(table length, threshold)` of a `new HashMap<>()` after `n` puts of distinct keys,
/// following `HashMap.resize`: no table until the first put (threshold 0, and
/// `writeObject` reports the default 16 buckets), then 16 buckets doubling whenever the
/// size exceeds three quarters of the table.
fn java_table_size(n: usize) -> (i32, i32) {
    if n == 0 {
        return (16, 0);
    }
    let n = n as u64;
    let (mut capacity, mut threshold): (u64, u64) = (16, 12);
    while n > threshold && capacity < MAXIMUM_CAPACITY {
        capacity <<= 1;
        threshold = if capacity < MAXIMUM_CAPACITY {
            threshold << 1
        } else {
            i32::MAX as u64
        };
    }
    (java_int(capacity as usize), java_int(threshold as usize))
}

/// A length or count as a Java `int`; see the limits on [`encode`].
fn java_int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn write_byte_array(out: &mut Vec<u8>, bytes: &[u8], desc_written: &mut bool) {
    out.push(TC_ARRAY);
    if *desc_written {
        out.push(TC_REFERENCE);
        out.extend_from_slice(&HANDLE_BYTE_ARRAY_DESC.to_be_bytes());
    } else {
        *desc_written = true;
        out.push(TC_CLASSDESC);
        write_utf(out, BYTE_ARRAY_CLASS);
        out.extend_from_slice(&BYTE_ARRAY_SUID.to_be_bytes());
        out.push(SC_SERIALIZABLE);
        out.extend_from_slice(&0u16.to_be_bytes());
        out.push(TC_ENDBLOCKDATA);
        out.push(TC_NULL);
    }
    out.extend_from_slice(&java_int(bytes.len()).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// `DataOutput.writeUTF` for the ASCII names this encoder writes.
fn write_utf(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.is_ascii() && s.len() < 0x1_0000);
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// Reads a `java.util.HashMap<byte[], byte[]>` written by `ObjectOutputStream`, returning
/// its entries in stream order. An empty input is an empty map (Kafka treats a missing or
/// empty offset file as no offsets).
///
/// Tolerated beyond what `encode` writes: `TC_RESET` before or after the map,
/// back-references to class descriptors and to arrays already read (the same `byte[]`
/// object written twice), block data split over several blocks or in long blocks, and
/// class annotations made of block data.
pub fn decode(bytes: &[u8]) -> Result<Entries, JavaMapError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() < 4 || bytes[..2] != STREAM_MAGIC || bytes[2..4] != STREAM_VERSION {
        return Err(JavaMapError::BadHeader {
            found: bytes.iter().take(4).copied().collect(),
        });
    }
    let mut r = Decoder {
        bytes,
        pos: 4,
        handles: Vec::new(),
        block_remaining: 0,
    };
    r.skip_resets();
    let entries = r.read_map()?;
    r.skip_resets();
    if r.pos < bytes.len() {
        return Err(JavaMapError::TrailingData {
            offset: r.pos,
            count: bytes.len() - r.pos,
        });
    }
    Ok(entries)
}

/// What a wire handle stands for. Only what a `HashMap<byte[], byte[]>` stream can refer
/// back to is kept in full.
enum Handle {
    ClassDesc(ClassDesc),
    /// Where the array's contents are in the input.
    Array(std::ops::Range<usize>),
    /// The map itself, or a string (a field's type name).
    Other,
}

#[derive(Clone)]
struct ClassDesc {
    name: String,
    suid: i64,
    flags: u8,
    /// Type codes of the serializable fields, in stream order.
    field_types: Vec<u8>,
    has_super: bool,
}

/// Class descriptors nest through their superclass; real streams here have none, so a
/// small bound keeps hostile input from exhausting the stack.
const MAX_DESC_DEPTH: usize = 16;

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
    /// Unread bytes of the current block-data block.
    block_remaining: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize, expected: &'static str) -> Result<&[u8], JavaMapError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(JavaMapError::Truncated {
                offset: self.bytes.len(),
                expected,
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, expected: &'static str) -> Result<[u8; N], JavaMapError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, expected)?);
        Ok(a)
    }

    fn u8(&mut self, expected: &'static str) -> Result<u8, JavaMapError> {
        Ok(self.array::<1>(expected)?[0])
    }

    fn u16(&mut self, expected: &'static str) -> Result<u16, JavaMapError> {
        Ok(u16::from_be_bytes(self.array(expected)?))
    }

    fn i32(&mut self, expected: &'static str) -> Result<i32, JavaMapError> {
        Ok(i32::from_be_bytes(self.array(expected)?))
    }

    fn i64(&mut self, expected: &'static str) -> Result<i64, JavaMapError> {
        Ok(i64::from_be_bytes(self.array(expected)?))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Reads a type code, returning it with its offset for error messages.
    fn tag(&mut self, expected: &'static str) -> Result<(usize, u8), JavaMapError> {
        let at = self.pos;
        Ok((at, self.u8(expected)?))
    }

    fn unexpected(offset: usize, found: u8, expected: &'static str) -> JavaMapError {
        JavaMapError::Unexpected {
            offset,
            found,
            expected,
        }
    }

    fn skip_resets(&mut self) {
        while self.peek() == Some(TC_RESET) {
            self.pos += 1;
            self.handles.clear();
        }
    }

    fn assign(&mut self, handle: Handle) -> usize {
        self.handles.push(handle);
        self.handles.len() - 1
    }

    /// Reads the handle after the `TC_REFERENCE` at `at`: its wire value and index.
    fn reference(&mut self, at: usize) -> Result<(u32, usize), JavaMapError> {
        let handle = u32::from_be_bytes(self.array("a 4-byte handle after TC_REFERENCE")?);
        let index = handle
            .checked_sub(BASE_WIRE_HANDLE)
            .map(|i| i as usize)
            .filter(|&i| i < self.handles.len())
            .ok_or(JavaMapError::BadReference {
                offset: at,
                handle,
                problem: "was never assigned",
            })?;
        Ok((handle, index))
    }

    /// `DataInput.readUTF`. Class and field names are ASCII in practice; anything else
    /// only appears in error messages, so a lossy decoding of modified UTF-8 is enough.
    fn utf(&mut self, expected: &'static str) -> Result<String, JavaMapError> {
        let len = self.u16(expected)?;
        let bytes = self.take(usize::from(len), expected)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn read_map(&mut self) -> Result<Entries, JavaMapError> {
        let (at, tc) = self.tag("TC_OBJECT (0x73) for the map")?;
        if tc != TC_OBJECT {
            return Err(Self::unexpected(at, tc, "TC_OBJECT (0x73) for the map"));
        }
        let desc_at = self.pos;
        let desc = self.class_desc(0)?;
        if desc.name != HASHMAP_CLASS || desc.suid != HASHMAP_SUID {
            return Err(JavaMapError::WrongClass {
                offset: desc_at,
                found: desc.name,
                suid: desc.suid,
                expected: "java.util.HashMap (serialVersionUID 362498820763181265)",
            });
        }
        if desc.flags & (SC_SERIALIZABLE | SC_WRITE_METHOD) != SC_SERIALIZABLE | SC_WRITE_METHOD
            || desc.has_super
        {
            return Err(JavaMapError::Unsupported {
                offset: desc_at,
                what: "a java.util.HashMap descriptor without SC_SERIALIZABLE|SC_WRITE_METHOD \
                       or with a superclass descriptor",
            });
        }
        self.assign(Handle::Other);

        // defaultWriteObject: loadFactor and threshold. Java ignores the threshold and
        // sizes the table itself; so does Sluice.
        for &code in &desc.field_types {
            let size = match code {
                b'B' | b'Z' => 1,
                b'C' | b'S' => 2,
                b'F' | b'I' => 4,
                b'D' | b'J' => 8,
                _ => {
                    return Err(JavaMapError::Unsupported {
                        offset: self.pos,
                        what: "an object-typed field in java.util.HashMap",
                    })
                }
            };
            self.take(size, "java.util.HashMap field values")?;
        }

        // HashMap.writeObject: bucket count (ignored, as Java does), size, entries.
        let _buckets = i32::from_be_bytes(self.block_array("the HashMap bucket count")?);
        let size_at = self.pos;
        let size = i32::from_be_bytes(self.block_array("the HashMap size")?);
        let size = usize::try_from(size).map_err(|_| JavaMapError::Negative {
            offset: size_at,
            what: "the HashMap size",
            value: size,
        })?;

        // Never trust a count for an allocation: each entry takes at least 2 bytes.
        let mut entries = Vec::with_capacity(size.min((self.bytes.len() - self.pos) / 2));
        for index in 0..size {
            let key_at = self.pos;
            let key = self
                .byte_array_or_null("a byte[] map key (TC_ARRAY 0x75 or TC_REFERENCE 0x71)")?
                .ok_or(JavaMapError::NullKey {
                    offset: key_at,
                    index,
                })?;
            let value = self.byte_array_or_null(
                "a byte[] map value (TC_ARRAY 0x75, TC_REFERENCE 0x71 or TC_NULL 0x70)",
            )?;
            entries.push((key, value));
        }

        self.end_of_block_data("TC_ENDBLOCKDATA (0x78) after the last map entry")?;
        Ok(entries)
    }

    /// Reads `N` bytes of block data, crossing block boundaries as needed.
    fn block_array<const N: usize>(
        &mut self,
        expected: &'static str,
    ) -> Result<[u8; N], JavaMapError> {
        let mut out = [0u8; N];
        let mut filled = 0;
        while filled < N {
            if self.block_remaining == 0 {
                self.block_header(expected)?;
                continue;
            }
            let n = (N - filled).min(self.block_remaining);
            out[filled..filled + n].copy_from_slice(self.take(n, expected)?);
            filled += n;
            self.block_remaining -= n;
        }
        Ok(out)
    }

    fn block_header(&mut self, expected: &'static str) -> Result<(), JavaMapError> {
        let (at, tc) = self.tag(expected)?;
        self.block_remaining = match tc {
            TC_BLOCKDATA => usize::from(self.u8("a block data length")?),
            TC_BLOCKDATALONG => {
                let len_at = self.pos;
                let len = self.i32("a long block data length")?;
                usize::try_from(len).map_err(|_| JavaMapError::Negative {
                    offset: len_at,
                    what: "a block data length",
                    value: len,
                })?
            }
            _ => return Err(Self::unexpected(at, tc, expected)),
        };
        Ok(())
    }

    /// Ends the map's `writeObject` data. Unread block data there is an error, as it is
    /// for Java's `HashMap.readObject`.
    fn end_of_block_data(&mut self, expected: &'static str) -> Result<(), JavaMapError> {
        if self.block_remaining > 0 {
            return Err(JavaMapError::Unsupported {
                offset: self.pos,
                what: "unread block data after the map entries",
            });
        }
        let (at, tc) = self.tag(expected)?;
        if tc != TC_ENDBLOCKDATA {
            return Err(Self::unexpected(at, tc, expected));
        }
        Ok(())
    }

    /// Class annotations: skips block data until `TC_ENDBLOCKDATA`; objects there would
    /// need a general deserializer and never occur for `HashMap` or `byte[]`.
    fn skip_annotations(&mut self) -> Result<(), JavaMapError> {
        const EXPECTED: &str = "TC_ENDBLOCKDATA (0x78) ending the class annotations";
        loop {
            match self.peek() {
                Some(TC_ENDBLOCKDATA) => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(TC_BLOCKDATA | TC_BLOCKDATALONG) => {
                    self.block_header(EXPECTED)?;
                    let n = self.block_remaining;
                    self.take(n, "class annotation block data")?;
                    self.block_remaining = 0;
                }
                Some(TC_NULL | TC_REFERENCE | TC_OBJECT | TC_STRING | TC_ARRAY) => {
                    return Err(JavaMapError::Unsupported {
                        offset: self.pos,
                        what: "an object in class annotations",
                    })
                }
                Some(found) => return Err(Self::unexpected(self.pos, found, EXPECTED)),
                None => {
                    return Err(JavaMapError::Truncated {
                        offset: self.pos,
                        expected: EXPECTED,
                    })
                }
            }
        }
    }

    /// A class descriptor: `TC_CLASSDESC ...` or `TC_REFERENCE` to one read earlier.
    /// `None` for `TC_NULL` only where `nullable`.
    fn class_desc_or_null(
        &mut self,
        depth: usize,
        nullable: bool,
    ) -> Result<Option<ClassDesc>, JavaMapError> {
        const EXPECTED: &str = "a class descriptor (TC_CLASSDESC 0x72 or TC_REFERENCE 0x71)";
        if depth > MAX_DESC_DEPTH {
            return Err(JavaMapError::Unsupported {
                offset: self.pos,
                what: "class descriptors nested this deep",
            });
        }
        let (at, tc) = self.tag(EXPECTED)?;
        match tc {
            TC_NULL if nullable => Ok(None),
            TC_REFERENCE => {
                let (handle, index) = self.reference(at)?;
                match &self.handles[index] {
                    Handle::ClassDesc(desc) => Ok(Some(desc.clone())),
                    _ => Err(JavaMapError::BadReference {
                        offset: at,
                        handle,
                        problem: "is not a class descriptor",
                    }),
                }
            }
            TC_CLASSDESC => {
                // Java assigns the descriptor's handle before reading its body, so field
                // type strings inside it get later handles.
                let index = self.assign(Handle::Other);
                let name = self.utf("a class name")?;
                let suid = self.i64("a serialVersionUID")?;
                let flags = self.u8("class descriptor flags")?;
                let count = self.u16("a field count")?;
                let mut field_types = Vec::new();
                for _ in 0..count {
                    let code = self.u8("a field type code")?;
                    self.utf("a field name")?;
                    if code == b'L' || code == b'[' {
                        self.type_string()?;
                    }
                    field_types.push(code);
                }
                self.skip_annotations()?;
                let has_super = self.class_desc_or_null(depth + 1, true)?.is_some();
                let desc = ClassDesc {
                    name,
                    suid,
                    flags,
                    field_types,
                    has_super,
                };
                self.handles[index] = Handle::ClassDesc(desc.clone());
                Ok(Some(desc))
            }
            TC_PROXYCLASSDESC => Err(JavaMapError::Unsupported {
                offset: at,
                what: "a dynamic proxy class descriptor",
            }),
            _ => Err(Self::unexpected(
                at,
                tc,
                if nullable {
                    "a superclass descriptor (TC_NULL 0x70, TC_CLASSDESC 0x72 or TC_REFERENCE 0x71)"
                } else {
                    EXPECTED
                },
            )),
        }
    }

    fn class_desc(&mut self, depth: usize) -> Result<ClassDesc, JavaMapError> {
        let at = self.pos;
        self.class_desc_or_null(depth, false)?
            .ok_or(JavaMapError::Unsupported {
                offset: at,
                what: "a null class descriptor",
            })
    }

    /// The type name of an object field: a string or a reference to one.
    fn type_string(&mut self) -> Result<(), JavaMapError> {
        const EXPECTED: &str = "a field type name (TC_STRING 0x74 or TC_REFERENCE 0x71)";
        let (at, tc) = self.tag(EXPECTED)?;
        match tc {
            TC_STRING => {
                self.utf(EXPECTED)?;
            }
            TC_LONGSTRING => {
                // A length beyond the data, negative ones included, reads as truncation.
                let len = self.i64(EXPECTED)?;
                self.take(usize::try_from(len).unwrap_or(usize::MAX), EXPECTED)?;
            }
            TC_REFERENCE => {
                self.reference(at)?;
                return Ok(());
            }
            _ => return Err(Self::unexpected(at, tc, EXPECTED)),
        }
        self.assign(Handle::Other);
        Ok(())
    }

    /// A `byte[]` (new or a back-reference) or null, read where an object is expected
    /// inside the map's block-data section.
    fn byte_array_or_null(
        &mut self,
        expected: &'static str,
    ) -> Result<Option<Vec<u8>>, JavaMapError> {
        if self.block_remaining > 0 {
            return Err(JavaMapError::Unsupported {
                offset: self.pos,
                what: "unread block data before a map entry",
            });
        }
        let (at, tc) = self.tag(expected)?;
        match tc {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let (handle, index) = self.reference(at)?;
                match &self.handles[index] {
                    Handle::Array(range) => Ok(self.bytes.get(range.clone()).map(<[u8]>::to_vec)),
                    _ => Err(JavaMapError::BadReference {
                        offset: at,
                        handle,
                        problem: "is not a byte[]",
                    }),
                }
            }
            TC_ARRAY => {
                let desc_at = self.pos;
                let desc = self.class_desc(0)?;
                // Java does not check array serialVersionUIDs, so neither does this.
                if desc.name != BYTE_ARRAY_CLASS {
                    return Err(JavaMapError::WrongClass {
                        offset: desc_at,
                        found: desc.name,
                        suid: desc.suid,
                        expected: "byte[] ([B)",
                    });
                }
                let len_at = self.pos;
                let len = self.i32("a byte[] length")?;
                let len = usize::try_from(len).map_err(|_| JavaMapError::Negative {
                    offset: len_at,
                    what: "a byte[] length",
                    value: len,
                })?;
                let start = self.pos;
                let bytes = self.take(len, "byte[] contents")?.to_vec();
                self.assign(Handle::Array(start..self.pos));
                Ok(Some(bytes))
            }
            _ => Err(Self::unexpected(at, tc, expected)),
        }
    }
}

#[cfg(test)]
mod tests {
    // The workspace warns on unwrap outside tests; in tests a panic is the failure report.
    #![allow(clippy::unwrap_used)]

    use super::*;

    // Golden files written by JDK 17 with
    // `new ObjectOutputStream(new FileOutputStream(f)).writeObject(map)`, where `map` is a
    // `new HashMap<byte[], byte[]>()` filled with `put`, as FileOffsetBackingStore does.

    /// No entries.
    const JAVA_EMPTY: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        400000000000007708000000100000000078";

    /// `["local-file-source",{"filename":"/tmp/x"}]` -> `{"position":30}`.
    const JAVA_ONE: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        4000000000000c77080000001000000001757200025b42acf317f8060854e002
        000078700000002b5b226c6f63616c2d66696c652d736f75726365222c7b2266
        696c656e616d65223a222f746d702f78227d5d7571007e00020000000f7b2270
        6f736974696f6e223a33307d78";

    /// Three entries, one with a null value, in Java's bucket order.
    const JAVA_THREE: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        4000000000000c77080000001000000003757200025b42acf317f8060854e002
        000078700000002b5b226c6f63616c2d66696c652d736f75726365222c7b2266
        696c656e616d65223a222f746d702f61227d5d7571007e00020000000f7b2270
        6f736974696f6e223a33307d7571007e0002000000165b226f74686572222c7b
        2266696c65223a2263227d5d7571007e0002000000127b226f6666736574223a
        313233343536377d7571007e00020000002b5b226c6f63616c2d66696c652d73
        6f75726365222c7b2266696c656e616d65223a222f746d702f62227d5d7078";

    /// `k` -> empty array, and one array object `same` used as both key and value: the
    /// value is a back-reference (`71 00 7e 00 05`) to the key's array.
    const JAVA_SHARED: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        4000000000000c77080000001000000002757200025b42acf317f8060854e002
        00007870000000016b7571007e0002000000007571007e00020000000473616d
        6571007e000578";

    /// JAVA_ONE written after `ObjectOutputStream.reset()`: a TC_RESET (79) first.
    const JAVA_RESET: &str = "
        aced000579737200116a6176612e7574696c2e486173684d61700507dac1c316
        60d103000246000a6c6f6164466163746f724900097468726573686f6c647870
        3f4000000000000c77080000001000000001757200025b42acf317f8060854e0
        02000078700000002b5b226c6f63616c2d66696c652d736f75726365222c7b22
        66696c656e616d65223a222f746d702f78227d5d7571007e00020000000f7b22
        706f736974696f6e223a33307d78";

    /// `null` -> `v`.
    const JAVA_NULL_KEY: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        4000000000000c7708000000100000000170757200025b42acf317f8060854e0
        0200007870000000017678";

    /// `k0`..`k12` -> `v0`..`v12`: 13 entries, so 32 buckets and threshold 24.
    const JAVA_THIRTEEN: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        400000000000187708000000200000000d757200025b42acf317f8060854e002
        00007870000000036b31327571007e0002000000037631327571007e00020000
        00026b357571007e00020000000276357571007e0002000000036b3130757100
        7e0002000000037631307571007e0002000000026b377571007e000200000002
        76377571007e0002000000026b317571007e00020000000276317571007e0002
        000000036b31317571007e0002000000037631317571007e0002000000026b33
        7571007e00020000000276337571007e0002000000026b307571007e00020000
        000276307571007e0002000000026b367571007e00020000000276367571007e
        0002000000026b387571007e00020000000276387571007e0002000000026b39
        7571007e00020000000276397571007e0002000000026b347571007e00020000
        000276347571007e0002000000026b327571007e000200000002763278";

    /// `big` -> 300 zero bytes: everything up to the value's contents, which are 300 zero
    /// bytes followed by TC_ENDBLOCKDATA (78) in the Java file.
    const JAVA_BIG_PREFIX: &str = "
        aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660
        d103000246000a6c6f6164466163746f724900097468726573686f6c6478703f
        4000000000000c77080000001000000001757200025b42acf317f8060854e002
        00007870000000036269677571007e00020000012c";

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn entry(key: &str, value: Option<&str>) -> (Vec<u8>, Option<Vec<u8>>) {
        (
            key.as_bytes().to_vec(),
            value.map(|v| v.as_bytes().to_vec()),
        )
    }

    fn numbered(n: usize) -> Entries {
        (0..n)
            .map(|i| entry(&format!("k{i}"), Some(&format!("v{i}"))))
            .collect()
    }

    /// Decodes Java's bytes and compares the entries, in stream order.
    #[track_caller]
    fn check_decode(java_hex: &str, expected: &[(Vec<u8>, Option<Vec<u8>>)]) {
        assert_eq!(decode(&hex(java_hex)).unwrap(), expected);
    }

    #[track_caller]
    fn check_error(bytes: &[u8], expected: JavaMapError) {
        assert_eq!(decode(bytes), Err(expected));
    }

    #[test]
    fn encode_matches_java_byte_for_byte() {
        assert_eq!(encode(&[]), hex(JAVA_EMPTY));
        let one = [entry(
            r#"["local-file-source",{"filename":"/tmp/x"}]"#,
            Some(r#"{"position":30}"#),
        )];
        assert_eq!(encode(&one), hex(JAVA_ONE));
        let mut big = hex(JAVA_BIG_PREFIX);
        big.extend_from_slice(&[0; 300]);
        big.push(TC_ENDBLOCKDATA);
        assert_eq!(encode(&[(b"big".to_vec(), Some(vec![0; 300]))]), big);
    }

    #[test]
    fn decode_java_files() {
        check_decode(JAVA_EMPTY, &[]);
        let one = [entry(
            r#"["local-file-source",{"filename":"/tmp/x"}]"#,
            Some(r#"{"position":30}"#),
        )];
        check_decode(JAVA_ONE, &one);
        check_decode(JAVA_RESET, &one);
        check_decode(
            JAVA_THREE,
            &[
                entry(
                    r#"["local-file-source",{"filename":"/tmp/a"}]"#,
                    Some(r#"{"position":30}"#),
                ),
                entry(r#"["other",{"file":"c"}]"#, Some(r#"{"offset":1234567}"#)),
                entry(r#"["local-file-source",{"filename":"/tmp/b"}]"#, None),
            ],
        );
        check_decode(
            JAVA_SHARED,
            &[entry("k", Some("")), entry("same", Some("same"))],
        );
        let mut thirteen = decode(&hex(JAVA_THIRTEEN)).unwrap();
        thirteen.sort_by_key(|(k, _)| {
            String::from_utf8(k[1..].to_vec())
                .unwrap()
                .parse::<u32>()
                .unwrap()
        });
        assert_eq!(thirteen, numbered(13));
    }

    #[test]
    fn empty_input_is_an_empty_map() {
        assert_eq!(decode(&[]), Ok(Vec::new()));
    }

    /// (entries, buckets, threshold) read from the JDK 17 files for maps of that size.
    #[test]
    fn table_size_matches_java() {
        let java = [
            (0, 16, 0),
            (1, 16, 12),
            (12, 16, 12),
            (13, 32, 24),
            (24, 32, 24),
            (25, 64, 48),
            (48, 64, 48),
            (49, 128, 96),
            (100, 256, 192),
        ];
        for (n, buckets, threshold) in java {
            assert_eq!(java_table_size(n), (buckets, threshold), "{n} entries");
            // Same in the encoded header: threshold field, then bucket count and size.
            let bytes = encode(&numbered(n));
            assert_eq!(
                bytes[0x43..0x47],
                i32::to_be_bytes(threshold),
                "{n} entries"
            );
            assert_eq!(bytes[0x49..0x4D], i32::to_be_bytes(buckets), "{n} entries");
            assert_eq!(bytes[0x4D..0x51], i32::to_be_bytes(n as i32), "{n} entries");
        }
        // Header of the 13-entry Java file, up to the first entry.
        assert_eq!(encode(&numbered(13))[..0x51], hex(JAVA_THIRTEEN)[..0x51]);
        // Java stops doubling at 2^30 buckets and then never resizes.
        assert_eq!(java_table_size(1 << 29), (1 << 30, i32::MAX));
        assert_eq!(java_table_size(usize::MAX), (1 << 30, i32::MAX));
    }

    #[test]
    fn round_trip() {
        let cases: Vec<Entries> = vec![
            vec![],
            vec![entry("", None)],
            vec![entry("", Some(""))],
            vec![entry("a", None), entry("b", None), entry("c", Some("x"))],
            vec![(
                vec![0, 0xFF, 0xAC, 0xED, 0x78, 0x70],
                Some(vec![0x71; 1000]),
            )],
            numbered(13),
            numbered(200),
        ];
        for entries in cases {
            assert_eq!(decode(&encode(&entries)).unwrap(), entries);
        }
    }

    #[test]
    fn header_errors() {
        check_error(
            b"{}",
            JavaMapError::BadHeader {
                found: b"{}".to_vec(),
            },
        );
        check_error(
            &[0xAC, 0xED, 0x00, 0x04, 0x73],
            JavaMapError::BadHeader {
                found: vec![0xAC, 0xED, 0x00, 0x04],
            },
        );
        check_error(
            &hex("aced0005"),
            JavaMapError::Truncated {
                offset: 4,
                expected: "TC_OBJECT (0x73) for the map",
            },
        );
        // A serialized null, not a map.
        check_error(
            &hex("aced000570"),
            JavaMapError::Unexpected {
                offset: 4,
                found: TC_NULL,
                expected: "TC_OBJECT (0x73) for the map",
            },
        );
    }

    #[test]
    fn every_truncation_is_reported_not_panicked() {
        let bytes = hex(JAVA_THREE);
        for len in 1..bytes.len() {
            let err = decode(&bytes[..len]).unwrap_err();
            assert!(err.offset() <= len, "{len}: {err}");
            if len >= 4 {
                assert!(
                    matches!(err, JavaMapError::Truncated { offset, .. } if offset == len),
                    "{len}: {err}"
                );
            }
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        for java in [JAVA_THREE, JAVA_SHARED, JAVA_NULL_KEY] {
            let bytes = hex(java);
            for at in 0..bytes.len() {
                for value in [
                    0x00, 0x01, 0x70, 0x71, 0x72, 0x75, 0x77, 0x78, 0x79, 0x7F, 0xFF,
                ] {
                    let mut corrupted = bytes.clone();
                    corrupted[at] = value;
                    let _ = decode(&corrupted);
                }
            }
        }
    }

    #[test]
    fn wrong_class_is_named() {
        // java.util.HashMaq
        let mut bytes = hex(JAVA_ONE);
        bytes[0x18] = b'q';
        check_error(
            &bytes,
            JavaMapError::WrongClass {
                offset: 5,
                found: "java.util.HashMaq".into(),
                suid: HASHMAP_SUID,
                expected: "java.util.HashMap (serialVersionUID 362498820763181265)",
            },
        );
        // Same name, another serialVersionUID.
        let mut bytes = hex(JAVA_ONE);
        bytes[0x19] ^= 1;
        let err = decode(&bytes).unwrap_err();
        assert!(
            matches!(err, JavaMapError::WrongClass { offset: 5, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "byte 5: found class java.util.HashMap (serialVersionUID 290441226725253329), \
             expected java.util.HashMap (serialVersionUID 362498820763181265)"
        );
    }

    #[test]
    fn entry_errors() {
        check_error(
            &hex(JAVA_NULL_KEY),
            JavaMapError::NullKey {
                offset: 0x51,
                index: 0,
            },
        );

        // A string where the first key should be.
        let mut bytes = hex(JAVA_ONE);
        bytes[0x51] = TC_STRING;
        check_error(
            &bytes,
            JavaMapError::Unexpected {
                offset: 0x51,
                found: TC_STRING,
                expected: "a byte[] map key (TC_ARRAY 0x75 or TC_REFERENCE 0x71)",
            },
        );

        // The value refers to handle 0x7e0009, which does not exist.
        let mut bytes = hex(JAVA_ONE);
        bytes[0x98] = 0x09;
        check_error(
            &bytes,
            JavaMapError::BadReference {
                offset: 0x94,
                handle: 0x7E_0009,
                problem: "was never assigned",
            },
        );

        // The value refers to handle 0x7e0001 (the map), not an array: in JAVA_SHARED the
        // back-reference to `same` is the last handle before TC_ENDBLOCKDATA.
        let mut bytes = hex(JAVA_SHARED);
        let at = bytes.len() - 2;
        bytes[at] = 0x01;
        check_error(
            &bytes,
            JavaMapError::BadReference {
                offset: at - 4,
                handle: 0x7E_0001,
                problem: "is not a byte[]",
            },
        );

        // Negative size.
        let mut bytes = hex(JAVA_EMPTY);
        bytes[0x4D..0x51].copy_from_slice(&(-1i32).to_be_bytes());
        check_error(
            &bytes,
            JavaMapError::Negative {
                offset: 0x4D,
                what: "the HashMap size",
                value: -1,
            },
        );

        // A size larger than the entries present: an error where the entries stop, and no
        // allocation sized by the claimed count.
        let mut bytes = hex(JAVA_EMPTY);
        bytes[0x4D..0x51].copy_from_slice(&i32::MAX.to_be_bytes());
        check_error(
            &bytes,
            JavaMapError::Unexpected {
                offset: 0x51,
                found: TC_ENDBLOCKDATA,
                expected: "a byte[] map key (TC_ARRAY 0x75 or TC_REFERENCE 0x71)",
            },
        );
    }

    #[test]
    fn trailing_data_is_rejected_but_resets_are_not() {
        let mut bytes = hex(JAVA_ONE);
        bytes.push(TC_RESET);
        check_decode(&hex_string(&bytes), &decode(&hex(JAVA_ONE)).unwrap());
        bytes.extend_from_slice(b"xy");
        check_error(
            &bytes,
            JavaMapError::TrailingData {
                offset: bytes.len() - 2,
                count: 2,
            },
        );
    }

    /// Block data split over several blocks, and a long block, read like one block.
    #[test]
    fn split_and_long_block_data() {
        let java = hex(JAVA_EMPTY);
        let (head, tail) = java.split_at(0x47); // up to TC_BLOCKDATA 08
        let payload = &tail[2..10];
        let mut split = head.to_vec();
        split.extend_from_slice(&[TC_BLOCKDATA, 3]);
        split.extend_from_slice(&payload[..3]);
        split.extend_from_slice(&[TC_BLOCKDATA, 5]);
        split.extend_from_slice(&payload[3..]);
        split.push(TC_ENDBLOCKDATA);
        assert_eq!(decode(&split), Ok(Vec::new()));

        let mut long = head.to_vec();
        long.push(TC_BLOCKDATALONG);
        long.extend_from_slice(&8i32.to_be_bytes());
        long.extend_from_slice(payload);
        long.push(TC_ENDBLOCKDATA);
        assert_eq!(decode(&long), Ok(Vec::new()));

        // Unread block data before TC_ENDBLOCKDATA.
        let mut extra = head.to_vec();
        extra.extend_from_slice(&[TC_BLOCKDATA, 9]);
        extra.extend_from_slice(payload);
        extra.extend_from_slice(&[0, TC_ENDBLOCKDATA]);
        let err = decode(&extra).unwrap_err();
        assert!(matches!(err, JavaMapError::Unsupported { .. }), "{err}");
    }

    fn hex_string(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
