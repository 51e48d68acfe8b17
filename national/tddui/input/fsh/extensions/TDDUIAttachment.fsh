Extension: TDDUIAttachment
Id: tddui-attachment
Title: "Pièce jointe"
Description: "Pièces jointes."
Context: Encounter, CarePlan, ServiceRequest // cm-fhir: was Encounter only, while TDDUICarePlanProjetPerso and TDDUIServiceRequestBesoin use it on CarePlan and ServiceRequest

* value[x] only Attachment
