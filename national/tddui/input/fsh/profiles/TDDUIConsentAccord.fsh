Profile: TDDUIConsentAccord
Parent: Consent
Id: tddui-consent-accord
Title: "TDDUI Consent Accord"
Description: "Profil de la ressource TDDUIConsent permettant de représenter l'accord de l'usager et de la structure." 

// cm-fhir: the R5 cross-version extension Consent.period (hl7.fhir.uv.xver) is not vendored:
// * extension contains
//    $consentPeriod-r5 named TDDUI-consentPeriod-r5 0..1 

* performer 1..1
* performer only Reference(FRCoreOrganizationProfile or PractitionerRole or Practitioner or FRCoreRelatedPersonProfile or FRCorePatientProfile or FRCorePatientINSProfile) // cm-fhir: was TDDUIOrganization or TDDUIPractitionerRole or TDDUIPractitioner or FRCoreRelatedPersonProfile or TDDUIPatient or TDDUIPatientINS

* dateTime 1..1
