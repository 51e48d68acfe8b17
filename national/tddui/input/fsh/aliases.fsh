// Lines of TDDUI's input/fsh/aliases.fsh (081d909) used by the vendored subset
Alias: $JDV-J367-TypeProjetPersonnaliseMs = https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j367-type-projet-personnalise-ms
Alias: $consentPeriod-r5 = http://hl7.org/fhir/5.0/StructureDefinition/extension-Consent.period
