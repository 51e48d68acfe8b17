Profile: TDDUIGoalProjetVie
Parent: Goal
Id: tddui-goal-projet-vie
Title: "TDDUI Goal Projet Vie"
Description: "Profil de la ressource Goal permettant de représenter le projet de vie de l'usager."

* identifier 1..1
* identifier ^short = "Identifiant de l'attente"
* identifier.value 1..1
* identifier.value ^example[0].label = "du format d'identifiant à respecter : 3+FINESS/identifiantLocalUsagerESSMS-PDV-idLocalProjetVie"
* identifier.value ^example[0].valueString = "3480787529/123456789-PDV-1234"
* identifier.system 1..1
* identifier.system = "https://identifiant-medicosocial-projetvie.esante.gouv.fr"

// cm-fhir: TDDUIStatusAuthor (the status's author) is not vendored:
// * lifecycleStatus.extension contains TDDUIStatusAuthor named TDDUIStatusAuthor 0..1

* description.text 1..1

* subject only Reference(FRCorePatientProfile or FRCorePatientINSProfile) // cm-fhir: was TDDUIPatient or TDDUIPatientINS (not vendored)

Mapping:  ConceptMetier_TDDUIGoalProjetVie
Source:   TDDUIGoalProjetVie
Target: "https://interop.esante.gouv.fr/ig/fhir/tddui/sfe_modelisation_contenu.html"
Id:       specmetier-to-TDDUIGoalProjetVie
Title:    "Modèle de contenu DUI"
* -> "ProjetVie"

* identifier -> "idProjetVie"
* lifecycleStatus -> "Statut.statut"
// cm-fhir: * lifecycleStatus.extension[TDDUIStatusAuthor] -> "Statut.auteur" (extension not vendored)
* description.text -> "titreProjetVie"
* startDate -> "dateDebutProjetVie"
* target.dueDate -> "dateFinProjetVie"
* target.detailString -> "aspirationProjetVie"
* subject -> "Usager"
