Extension: FRCorePatientNationality
Id: fr-core-nationality
Title: "FR Core Patient Nationalité"
Parent: http://hl7.org/fhir/StructureDefinition/patient-nationality
Description: "Nationalité du patient"
* extension[code].valueCodeableConcept from https://www.hl7.org/fhir/valueset-country.html (extensible)


