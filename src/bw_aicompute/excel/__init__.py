"""Excel workbooks, one module each: `results` (an assessment's results workbook) and
`inventories` (the inventories in bw2io's Excel layout: export, and import of an edited
workbook). The campaign workbook belongs to the campaign format: `bw_aicompute.campaign.workbook`.
"""
