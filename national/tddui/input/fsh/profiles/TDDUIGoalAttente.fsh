Profile: TDDUIGoalAttente
Parent: Goal
Id: tddui-goal-attente
Title: "TDDUI Goal Attente"
Description: "Profil de la ressource TDDUIGoal permettant de représenter les attentes de l'usager." 

* extension contains
    TDDUICarePlanProjetPersoRef named referenceProjetPerso 1..1

* identifier 1..1
* identifier ^short = "Identifiant de l'attente"
* identifier.value ^example[0].label = "du format d'identifiant à respecter : 3+FINESS/identifiantLocalUsagerESSMS-PPAttente-identifiantAttente"
//* identifier.value ^example[0].valueString = "3480787529/147720425367411-EVN-12548"

* expressedBy 1..1
* expressedBy only Reference(PractitionerRole or Practitioner or FRCorePatientProfile or FRCorePatientINSProfile or FRCoreRelatedPersonProfile) // cm-fhir: was TDDUIPractitionerRole or TDDUIPractitioner or TDDUIPatient or TDDUIPatientINS or FRCoreRelatedPersonProfile

* subject only Reference(FRCorePatientProfile or FRCorePatientINSProfile) // cm-fhir: was TDDUIPatient or TDDUIPatientINS (not vendored)

Mapping:  ConceptMetier_TDDUIGoalAttente
Source:   TDDUIGoalAttente
Target: "https://interop.esante.gouv.fr/ig/fhir/tddui/sfe_modelisation_contenu.html"
Id:       specmetier-to-TDDUIGoalAttente
Title:    "Modèle de contenu DUI"
* -> "Attente"

* identifier -> "identifiantAttente"
* expressedBy -> "origineAttente"
* description.text -> "descriptionAttente"
* note.text -> "commentaireAttente"
* extension[referenceProjetPerso] -> "ProjetPersonnalise"
