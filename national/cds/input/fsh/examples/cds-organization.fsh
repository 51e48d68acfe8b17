Instance: cds-organization-example
InstanceOf: CDSAsOrganization
Usage: #example
* active = true
* type[organizationType] = https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-3307#MEDICAL "Médical"
// cm-fhir: Annuaire extension not vendored: * type[organizationType].extension[as-ext-organization-types].valueCode = #organizationType
* name = "Cabinet médical CC CC"
* alias = "CC CC Rennes"

* address.line = "12 rue du paris"
* address.city = "Rennes"
* address.postalCode = "35000"
* address.country = "99100"