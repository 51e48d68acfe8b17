// Shared rule sets.

// Metadata common to every terminology resource of the guide.
RuleSet: TerminologyMetadata
* ^status = #draft
* ^experimental = false
* ^publisher = "Projet open source cm-fhir"
* ^jurisdiction = urn:iso:std:iso:3166#FR "France"
* ^language = #fr

// Metadata for a CodeSystem the guide owns (complete, case-sensitive, French displays).
RuleSet: LocalCodeSystem
* insert TerminologyMetadata
* ^caseSensitive = true
* ^content = #complete

// English designation of a concept of a CodeSystem: insert En(code, "English display").
RuleSet: En(code, display)
* #{code} ^designation[+].language = #en
* #{code} ^designation[=].use = http://snomed.info/sct#900000000000013009 "Synonym"
* #{code} ^designation[=].value = {display}

// Metadata for conformance resources (StructureDefinition, SearchParameter, OperationDefinition).
RuleSet: ConformanceMetadata
* ^status = #draft
* ^experimental = false
* ^publisher = "Projet open source cm-fhir"
* ^jurisdiction = urn:iso:std:iso:3166#FR "France"

// One PUT entry of a transaction Bundle: insert PutEntry(uuid, Type, id)
// The fullUrl is a urn:uuid (server independent); the request is an update with the id,
// so that replaying the Bundle is idempotent.
RuleSet: PutEntry(uuid, type, id)
* entry[+].fullUrl = "urn:uuid:{uuid}"
* entry[=].resource = {id}
* entry[=].request.method = #PUT
* entry[=].request.url = "{type}/{id}"
