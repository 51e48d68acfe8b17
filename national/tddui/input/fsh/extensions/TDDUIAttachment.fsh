Extension: TDDUIAttachment
Id: tddui-attachment
Title: "Pièce jointe"
Description: "Pièces jointes."
Context: Encounter, CarePlan // cm-fhir: was Encounter only, while TDDUICarePlanProjetPerso uses it on CarePlan

* value[x] only Attachment
