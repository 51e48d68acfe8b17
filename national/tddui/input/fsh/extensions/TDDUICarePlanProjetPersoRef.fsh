Extension: TDDUICarePlanProjetPersoRef
Id: tddui-careplan-reference
Title: "Lien vers le projet personnalisé"
Description: "Liens vers le projet personnalisé, utilisables dans le profil TDDUIGoalObjectif."
Context: Goal

* value[x] only Reference
* valueReference only Reference(TDDUICarePlanProjetPerso)
