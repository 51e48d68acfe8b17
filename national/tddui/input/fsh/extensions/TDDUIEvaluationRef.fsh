Extension: TDDUIEvaluationRef
Id: tddui-evaluation-reference
Title: "Lien vers l'évaluation"
Description: "Liens vers l'évaluation, utilisables dans le profil TDDUIGoalObjectif."
Context: Goal

* value[x] only Reference
* valueReference only Reference(QuestionnaireResponse) // cm-fhir: was TDDUIQuestionnaireResponse (not vendored)
