-- wrk script: POST a mix of the assistant's suite questions, round robin.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local user = os.getenv("BENCH_USER") or "1"
local questions = {
  "Mes dépenses du mois dernier", "Transactions de cette semaine", "Combien j'ai dépensé aujourd'hui ?",
  "Mes dépenses alimentaires ce mois-ci", "Combien j'ai dépensé en transport ?",
  "Répartition de mes dépenses par catégorie", "Mes dépenses chez Carrefour",
  "Combien j'ai payé à Netflix ce mois ?", "Transactions SNCF du dernier mois",
  "Quelles sont mes dépenses inhabituelles ?", "Mes tendances de dépenses", "Comparaison avec le mois dernier",
  "Mes transactions du 1er janvier 1970", "Dépenses chez XYZ_MERCHANT_INEXISTANT", "Mes trucs",
}
local bodies = {}
for i, q in ipairs(questions) do
  bodies[i] = '{"user_id": ' .. user .. ', "message": "' .. q .. '"}'
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
