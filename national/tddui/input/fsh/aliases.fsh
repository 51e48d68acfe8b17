// Lines of TDDUI's input/fsh/aliases.fsh (081d909) used by the vendored subset
Alias: $JDV-J285-Besoins-Serafin = https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN
Alias: $JDV-J367-TypeProjetPersonnaliseMs = https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j367-type-projet-personnalise-ms
Alias: $consentPeriod-r5 = http://hl7.org/fhir/5.0/StructureDefinition/extension-Consent.period
