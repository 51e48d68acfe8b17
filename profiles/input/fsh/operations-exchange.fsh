// OperationDefinitions of whole records out (docs/exchange.md, "Whole records out").

Instance: episode-everything
InstanceOf: OperationDefinition
Usage: #definition
Title: "Tout l'accompagnement (everything of an episode of care)"
* insert OperationMetadata(episode-everything)
* name = "EpisodeEverything"
* title = "Tout l'accompagnement (everything of an episode of care)"
* description = "Renvoie un accompagnement et tout ce qui s'y rattache, tel que l'appelant peut le voir : l'accompagnement, ce qu'il référence (la personne, son équipe, l'orientation, le référent), ce qui le référence (projets, demandes de service, consentements, bilans de l'accompagnement), ce que ceux-ci référencent (objectifs d'un projet, membres d'une équipe), leurs Provenance, et les ressources d'annuaire référencées (PractitionerRole, Practitioner, Organization, Location…). Seules les données de la personne de l'accompagnement sont suivies. Returns an episode of care and everything linked to it that the caller may see: what it references, what references it, what those reference, their Provenance and the directory resources they reference; only data of the episode's person is followed."
* comment = "GET [base]/EpisodeOfCare/[id]/$everything. The answer is a searchset Bundle (entries of mode match, in creation order, with total), paged by _count with next links. An episode the caller may not read answers 404 exactly as one that does not exist; only resource types the caller's token may read (SMART scope letter r) are returned. Parameters other than those below are refused (400) unless the client sends Prefer: handling=lenient."
* affectsState = false
* code = #everything
* resource = #EpisodeOfCare
* system = false
* type = false
* instance = true
* parameter[+].name = #_since
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #instant
* parameter[=].documentation = "Seulement les ressources modifiées après cet instant. Only resources changed after this instant."
* parameter[+].name = #_type
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "*"
* parameter[=].type = #string
* parameter[=].documentation = "Types de ressources à renvoyer, séparés par des virgules. Comma-separated resource types to return."
* parameter[+].name = #_count
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #integer
* parameter[=].documentation = "Nombre d'entrées par page (liens next). Entries per page (next links)."
* parameter[+].name = #return
* parameter[=].use = #out
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #Bundle
* parameter[=].documentation = "Un Bundle searchset. A searchset Bundle."
