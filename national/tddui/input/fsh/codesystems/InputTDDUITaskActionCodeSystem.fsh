CodeSystem: InputTDDUITaskActionCodeSystem
Id: input-tddui-task-action-codesystem
Title: "InputTDDUITaskActionCodeSystem"
Description: "CodeSystem pour la définition des éléments spécifiques des input dans la ressource Task utilisée pour les actions du projet personnalisé."
* ^meta.profile = "http://hl7.org/fhir/StructureDefinition/shareablecodesystem"
* ^caseSensitive = true
* ^compositional = false
* ^content = #complete
* ^experimental = false
* ^publisher = "Agence du Numérique en Santé (ANS)" // cm-fhir: the publisher of the upstream sushi-config.yaml (not vendored); shareablecodesystem requires one

* #titre "Titre de l'action à mener."
* #evaluation "Evaluation de l'action."
* #avisUsager "Avis de l'usager sur l'action."
* #resultatAttendu "Résultat attendu de l'action."
* #pieceJointe "Pièce(s) jointe(s) de l'action."
* #evaluationNonStructuree "Évaluation non structurée de l’action."
* #objectif "Objectif(s)."
