Extension: FRCorePatientIdentityReliabilityExtension
Id: fr-core-identity-reliability
Title: "FR Core Patient Identity Reliability Extension"
Description: "Extension composite précisant le degré de confiance de l'identité du patient au sens du Référentiel National d'Identitovigilance (RNIV) : statut de confiance (provisoire, récupérée, validée, qualifiée), canal d'obtention des traits d'identité ou du matricule INS, pièce justificative contrôlée, dates associées et annotations complémentaires.\r\nComposite extension specifying the confidence level of a patient's identity per the French National Identity Vigilance Framework (RNIV): trust status (provisional, recovered, validated, qualified), channel used to collect the identity traits or the INS identifier, validation evidence, related dates and additional annotations."

* ^purpose = "Permet de documenter le degré de confiance de l'identité d'un patient conformément au RNIV, ainsi que les éléments ayant permis de l'établir (canal de collecte, statut, justificatif de contrôle, annotations).\r\nDocuments the confidence level of a patient's identity per the RNIV, along with the elements used to establish it (collection channel, status, validation evidence, annotations)."

* ^context.type = #element
* ^context.expression = "Patient"

* extension ^slicing.discriminator.type = #value
* extension ^slicing.discriminator.path = "url"
* extension ^slicing.rules = #open
* extension contains
    methodCollection 0..1 and
    dateInterrogationINSi 0..1 and
    identityStatus 0..1 and
    comment 0..* and
    validationDate 0..1 and
    validationMode 0..1

* obeys fr-core-identity-reliability-1
* obeys fr-core-identity-reliability-2

* extension[methodCollection] ^short = "Canal d'obtention des traits d'identité (SM, CV, INSi, CB, RFID, AV) | Channel used to collect the identity traits"
* extension[methodCollection].value[x] only Coding
// cm-fhir: ValueSet not vendored, binding left out: * extension[methodCollection].valueCoding from FRCoreValueSetIdentityMethodCollection (extensible)

* extension[dateInterrogationINSi] ^short = "Date d'interrogation du téléservice INSi | Date the INSi teleservice was queried"
* extension[dateInterrogationINSi].value[x] only date

* extension[identityStatus] ^short = "Statut de confiance de l’identité au sens du RNIV (EXI SI 07) : PROV | RECUP | VALI | QUAL. Ces 4 statuts sont exclusifs les uns des autres."
* extension[identityStatus].value[x] only Coding
// cm-fhir: ValueSet not vendored, binding left out: * extension[identityStatus].value[x] from FRCoreValueSetIdentityStatus (required)

* extension[comment] ^short = "Annotations complémentaires sur l’identité : attributs RNIV (homonyme, douteux, fictif) et codes de gestion (doublon, collision, désactivé…). Plusieurs annotations peuvent coexister."
* extension[comment].value[x] only CodeableConcept
// cm-fhir: ValueSet not vendored, binding left out: * extension[comment].value[x] from FRCoreValueSetIdentityStatusComment (extensible)

* extension[validationDate] ^short = "Date de vérification de l'identité | Identity verification date"
* extension[validationDate].value[x] only date

* extension[validationMode] ^short = "Spécifie le type de document qui a été contrôlé par l'agent d'admission pour justifier le statut de l'identité. Seuls certains types de pièces définis dans le RNIV permettent de valider une identité (CN | PA | CS | ... )"
* extension[validationMode].value[x] only Coding
// cm-fhir: ValueSet not vendored, binding left out: * extension[validationMode].value[x] from fr-core-vs-mode-validation-identity (required)

Invariant:   fr-core-identity-reliability-1
Description: "Une identité comportant l'attribut Identité douteuse (DOUT) ou Identité fictive (FICT) dans `comment` doit avoir un statut de confiance (`identityStatus`) égal à Identité provisoire (PROV) [EXI SI 09]"
* severity = #error
* expression = "extension('comment').value.coding.exists(code = 'DOUT' or code = 'FICT') implies extension('identityStatus').value.exists(code = 'PROV')"

Invariant:   fr-core-identity-reliability-2
Description: "Les attributs Identité fictive (FICT) et Identité douteuse (DOUT) ne peuvent être cumulés dans `comment` sur une même identité"
* severity = #error
* expression = "extension('comment').value.coding.where(code = 'FICT').exists() implies extension('comment').value.coding.where(code = 'DOUT').empty()"
