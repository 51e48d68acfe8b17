Profile: FRCoreContactPointProfile
Parent: ContactPoint
Id: fr-core-contact-point
Title: "FR Core Contact Point Profile"

// cm-fhir: a datatype has no meta: * meta.profile ^slicing.discriminator.type = #value
// cm-fhir: a datatype has no meta: * meta.profile ^slicing.discriminator.path = "$this"
// cm-fhir: a datatype has no meta: * meta.profile ^slicing.rules = #open
// cm-fhir: a datatype has no meta: * meta.profile ^slicing.description = "Slice based on the canonical url value"
// cm-fhir: a datatype has no meta: * meta.profile contains fr-canonical 0..1
// cm-fhir: a datatype has no meta: * meta.profile[fr-canonical] = Canonical(fr-core-contact-point)

* extension ^slicing.discriminator.type = #value
* extension ^slicing.discriminator.path = "url"
* extension ^slicing.rules = #open

* extension contains FRCoreContactPointEmailTypeExtension named emailType 0..1

* system 1..
* value 1..
